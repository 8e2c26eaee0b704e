import Foundation
import NumericCore

/// One training step as the trainer reports it to an observer (every step; the observer decides what to show).
public struct TrainingProgress: Sendable {
    public var label: String
    /// This step (1-based) and the run's last.
    public var step: Int
    public var steps: Int
    /// The first step of this process (a resumed run starts past 1), for the rate and the ETA.
    public var firstStep: Int
    public var loss: Double
    public var gradientNorm: Double
    public var learningRate: Double
    /// Seconds since this process started training.
    public var seconds: Double

    public init(label: String, step: Int, steps: Int, firstStep: Int, loss: Double, gradientNorm: Double,
                learningRate: Double, seconds: Double) {
        self.label = label
        self.step = step
        self.steps = steps
        self.firstStep = firstStep
        self.loss = loss
        self.gradientNorm = gradientNorm
        self.learningRate = learningRate
        self.seconds = seconds
    }

    /// Steps per second in this process, and the seconds the remaining steps will take at that rate.
    public var rate: Double { Double(step - firstStep + 1) / max(seconds, 1e-9) }
    public var eta: Double { Double(steps - step) / max(rate, 1e-12) }
}

/// How training progress is shown on stderr.
public enum ProgressMode: String, CaseIterable, Sendable {
    /// A bar when stderr is a terminal, plain lines otherwise (a log file, a pipe, CI).
    case auto
    /// One line redrawn in place: step, bar, loss, rate and ETA, fitted to the terminal's width.
    case bar
    /// One line every `logEvery` steps (and the first and last): `label: step 500/4000  loss 0.38612  (152 steps/s, ETA 0:23)`.
    case plain
    /// One JSON object per line every `logEvery` steps (and the first and last), for scripts:
    /// `{"event": "step", "label", "step", "steps", "loss", "gradient_norm", "learning_rate", "seconds", "eta_seconds"}`.
    case json
    /// Nothing.
    case none
}

/// Renders training progress on stderr (or any sink) in one of the `ProgressMode`s; pass `observe` to the
/// trainer. Reusable by any loop that reports steps (sweeps, notebooks).
public final class ProgressReporter: @unchecked Sendable {
    public let mode: ProgressMode
    public let every: Int
    let write: (String) -> Void
    let width: Int
    var lastDraw = -Double.infinity
    /// A bar is on screen without its newline (training stopped before its last step).
    var lineOpen = false

    /// `every`: the interval of plain and JSON lines (a config's `logEvery`; 0 prints only the first and last).
    public init(mode: ProgressMode, every: Int, write: ((String) -> Void)? = nil, terminalWidth: Int? = nil) {
        let tty = isatty(STDERR_FILENO) == 1
        self.mode = mode == .auto ? (tty ? .bar : .plain) : mode
        self.every = every
        self.write = write ?? { FileHandle.standardError.write(Data($0.utf8)) }
        self.width = terminalWidth ?? ProgressReporter.terminalWidth()
    }

    /// The terminal's width: `COLUMNS` if set, else the terminal's own, else 80.
    static func terminalWidth() -> Int {
        if let c = ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init), c > 0 { return c }
        var size = winsize()
        if ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 80
    }

    public func observe(_ p: TrainingProgress) {
        let logged = p.step == p.firstStep || p.step == p.steps || (every > 0 && p.step % every == 0)
        switch mode {
        case .none, .auto: return
        case .plain:
            if logged { write(ProgressReporter.plainLine(p) + "\n") }
        case .json:
            if logged { write(ProgressReporter.jsonLine(p) + "\n") }
        case .bar:
            // Redraw at most ten times a second, and always the last step (then end the line).
            guard p.seconds - lastDraw >= 0.1 || p.step == p.steps else { return }
            lastDraw = p.seconds
            write("\r" + ProgressReporter.barLine(p, width: width) + (p.step == p.steps ? "\n" : ""))
            lineOpen = p.step != p.steps
        }
    }

    /// Ends a bar left open by a run that stopped early, so that what is printed next starts a line of its own.
    public func close() {
        if lineOpen { write("\n") }
        lineOpen = false
    }

    /// `0:07`, `12:34`, `1:02:03`.
    public static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }

    public static func plainLine(_ p: TrainingProgress) -> String {
        String(format: "%@: step %d/%d  loss %.5f  (%.0f steps/s, ETA %@)", p.label, p.step, p.steps, p.loss, p.rate,
               clock(p.eta))
    }

    public static func jsonLine(_ p: TrainingProgress) -> String {
        func number(_ x: Double) -> String { x.isFinite ? "\(x)" : "null" }
        return "{\"event\": \"step\", \"label\": \(JSONText.quote(p.label)), \"step\": \(p.step), \"steps\": \(p.steps), "
            + "\"loss\": \(number(p.loss)), \"gradient_norm\": \(number(p.gradientNorm)), "
            + "\"learning_rate\": \(number(p.learningRate)), \"seconds\": \(number(p.seconds)), \"eta_seconds\": \(number(p.eta))}"
    }

    /// `label [#####·····]  500/4000 12%  loss 0.38612  152 steps/s  ETA 0:23`, at most `width` columns.
    public static func barLine(_ p: TrainingProgress, width: Int) -> String {
        let percent = Int((100 * Double(p.step) / Double(max(p.steps, 1))).rounded(.down))
        let tail = String(format: " %d/%d %d%%  loss %.5f  %.0f steps/s  ETA %@", p.step, p.steps, percent, p.loss, p.rate,
                          clock(p.eta))
        let room = width - 1 - p.label.count - 3 - tail.count
        guard room >= 10 else { return String((p.label + tail).prefix(max(width - 1, 1))) }
        let filled = Int(Double(room) * Double(p.step) / Double(max(p.steps, 1)))
        return p.label + " [" + String(repeating: "#", count: filled) + String(repeating: "·", count: room - filled) + "]" + tail
    }
}

