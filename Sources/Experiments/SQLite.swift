import CSQLite
import Foundation
import Tasks

/// A value bound to or read from an SQL statement.
public enum SQLValue: Equatable, Sendable {
    case null
    case int(Int64)
    case double(Double)
    case text(String)

    public var int: Int64? {
        switch self { case .int(let i): return i; case .double(let d): return Int64(exactly: d); default: return nil }
    }
    public var double: Double? {
        switch self { case .double(let d): return d; case .int(let i): return Double(i); default: return nil }
    }
    public var text: String? {
        switch self {
        case .text(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .null: return nil
        }
    }
}

/// One row of a query: values by column name.
public struct SQLRow {
    public var columns: [String]
    public var values: [SQLValue]
    public subscript(_ name: String) -> SQLValue {
        guard let i = columns.firstIndex(of: name) else { return .null }
        return values[i]
    }
}

/// A thin wrapper around one SQLite connection (Debian's libsqlite3): statements with bound parameters, and
/// write transactions that take the write lock up front (`BEGIN IMMEDIATE`) and retry while another process
/// holds it. Not shared between threads: open one connection per thread.
public final class SQLiteDatabase {
    let handle: OpaquePointer
    public let path: String

    /// How long one statement waits for another writer's lock before SQLite answers "busy" (milliseconds).
    public static let busyTimeoutMilliseconds: Int32 = 10_000
    /// How many times a write transaction is retried after "busy" (each after the full busy timeout): a
    /// minute of contention before giving up, enough for dozens of workers finishing at once.
    public static let busyRetries = 6

    /// Opens (creating) the database at `path`. `journal` is `WAL` (readers never block the writer; needs every
    /// process on one machine, or a filesystem with working shared memory), `DELETE` (a rollback journal with
    /// file locks: for stores on NFS/Lustre written from several nodes) or nil (keep the file's mode: it is
    /// persistent, so every process uses the mode the store was made with).
    public init(path: String, journal: String? = "WAL") throws {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { sqlite3_close(db) }
            throw TaskError("\(path): cannot open the run store (\(message))")
        }
        handle = db
        self.path = path
        sqlite3_busy_timeout(db, SQLiteDatabase.busyTimeoutMilliseconds)
        sqlite3_extended_result_codes(db, 1)
        do {
            // Setting the journal mode takes a lock of its own; retry it like any write.
            if let journal {
                try retryingBusy { _ = try query("PRAGMA journal_mode=\(journal.uppercased() == "DELETE" ? "DELETE" : "WAL")") }
            }
            try execute("PRAGMA synchronous=NORMAL")   // durable at every checkpoint; commits stay atomic
            try execute("PRAGMA foreign_keys=ON")
        } catch {
            sqlite3_close(db)
            throw error
        }
    }

    deinit { sqlite3_close(handle) }

    var lastError: String { String(cString: sqlite3_errmsg(handle)) }

    /// Runs one statement with parameters `?1, ?2, …` and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ params: [SQLValue] = []) throws -> [SQLRow] {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &stmt, nil) == SQLITE_OK, let stmt else {
            throw SQLiteError(code: sqlite3_errcode(handle), message: "\(lastError) in: \(sql)")
        }
        defer { sqlite3_finalize(stmt) }
        try bind(stmt, params)
        let n = sqlite3_column_count(stmt)
        let columns = (0..<n).map { String(cString: sqlite3_column_name(stmt, $0)) }
        var rows: [SQLRow] = []
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw SQLiteError(code: rc, message: "\(lastError) in: \(sql)") }
            var values: [SQLValue] = []
            for c in 0..<n {
                switch sqlite3_column_type(stmt, c) {
                case SQLITE_INTEGER: values.append(.int(sqlite3_column_int64(stmt, c)))
                case SQLITE_FLOAT: values.append(.double(sqlite3_column_double(stmt, c)))
                case SQLITE_NULL: values.append(.null)
                default: values.append(.text(String(cString: sqlite3_column_text(stmt, c))))
                }
            }
            rows.append(SQLRow(columns: columns, values: values))
        }
        return rows
    }

    public func execute(_ sql: String, _ params: [SQLValue] = []) throws { try query(sql, params) }

    /// Runs one statement once per parameter row, prepared once (a run's history is thousands of rows).
    public func executeMany(_ sql: String, _ rows: [[SQLValue]]) throws {
        guard !rows.isEmpty else { return }
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &stmt, nil) == SQLITE_OK, let stmt else {
            throw SQLiteError(code: sqlite3_errcode(handle), message: "\(lastError) in: \(sql)")
        }
        defer { sqlite3_finalize(stmt) }
        for params in rows {
            sqlite3_reset(stmt)
            sqlite3_clear_bindings(stmt)
            try bind(stmt, params)
            let rc = sqlite3_step(stmt)
            guard rc == SQLITE_DONE || rc == SQLITE_ROW else { throw SQLiteError(code: rc, message: "\(lastError) in: \(sql)") }
        }
    }

    func bind(_ stmt: OpaquePointer, _ params: [SQLValue]) throws {
        // SQLITE_TRANSIENT: SQLite copies the bytes before the Swift string goes away.
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for (i, p) in params.enumerated() {
            let k = Int32(i + 1)
            let rc: Int32
            switch p {
            case .null: rc = sqlite3_bind_null(stmt, k)
            case .int(let v): rc = sqlite3_bind_int64(stmt, k, v)
            case .double(let v): rc = sqlite3_bind_double(stmt, k, v)
            case .text(let s): rc = sqlite3_bind_text(stmt, k, s, -1, transient)
            }
            guard rc == SQLITE_OK else { throw SQLiteError(code: rc, message: "binding parameter \(k): \(lastError)") }
        }
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }
    public var lastInsertID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Runs `body` in a write transaction: all of it is committed, or (on a thrown error) none of it. The
    /// write lock is taken at BEGIN, so two writers never deadlock upgrading a read; "busy" is retried.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try retryingBusy {
            try execute("BEGIN IMMEDIATE")
            do {
                let value = try body()
                try execute("COMMIT")
                return value
            } catch {
                try? execute("ROLLBACK")
                throw error
            }
        }
    }

    func retryingBusy<T>(_ body: () throws -> T) throws -> T {
        var attempt = 0
        while true {
            do { return try body() } catch let e as SQLiteError where e.isBusy && attempt < SQLiteDatabase.busyRetries {
                attempt += 1
                usleep(useconds_t(50_000 * attempt))
            }
        }
    }
}

public struct SQLiteError: Error, CustomStringConvertible {
    public var code: Int32
    public var message: String
    /// Another connection holds a lock we need (SQLITE_BUSY / SQLITE_LOCKED and their extended codes).
    var isBusy: Bool { code & 0xff == SQLITE_BUSY || code & 0xff == SQLITE_LOCKED }
    public var description: String { "SQLite: \(message)" }
}
