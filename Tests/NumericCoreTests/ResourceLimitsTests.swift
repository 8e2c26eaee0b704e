import Foundation
import NumericCore
import XCTest

final class ResourceLimitsTests: XCTestCase {
    func testByteCountsParseWithBinarySuffixes() {
        XCTAssertEqual(ResourceLimits.parseByteCount("1073741824"), 1 << 30)
        XCTAssertEqual(ResourceLimits.parseByteCount("4G"), 4 << 30)
        XCTAssertEqual(ResourceLimits.parseByteCount(" 512m "), 512 << 20)
        XCTAssertEqual(ResourceLimits.parseByteCount("512MiB"), 512 << 20)
        XCTAssertEqual(ResourceLimits.parseByteCount("64KB"), 64 << 10)
        XCTAssertEqual(ResourceLimits.parseByteCount("2T"), 2 << 40)
        XCTAssertEqual(ResourceLimits.parseByteCount("100B"), 100)
        for bad in ["", "G", "0", "-1G", "1.5G", "4 G", "4X", "lots", "9999999999T", "٣G"] {
            XCTAssertNil(ResourceLimits.parseByteCount(bad), bad)
        }
    }

    func testTheDefaultIsOneGiBWhenTheVariableIsUnset() throws {
        guard ProcessInfo.processInfo.environment[ResourceLimits.environmentVariable] == nil else {
            throw XCTSkip("ICL_MAX_MEMORY is set")
        }
        XCTAssertEqual(ResourceLimits.maxBytes, 1 << 30)
        XCTAssertEqual(NumPy.maxArrayBytes, ResourceLimits.maxBytes)
    }

    func testProductsOverflowToNil() {
        XCTAssertEqual(ResourceLimits.checkedProduct([2, 3, 4]), 24)
        XCTAssertEqual(ResourceLimits.checkedProduct([]), 1)
        XCTAssertEqual(ResourceLimits.checkedProduct([1 << 62, 1 << 62, 0]), nil, "overflows before the zero")
        XCTAssertNil(ResourceLimits.checkedProduct([1 << 31, 1 << 31, 4]))
        XCTAssertNil(ResourceLimits.checkedProduct([3, -1]))
    }

    func testAllocationChecksNameWhatAskedTheSizeTheCapAndTheVariable() throws {
        XCTAssertEqual(try ResourceLimits.checkAllocation(count: 1000, of: "x", limit: 8000), 8000)
        XCTAssertEqual(try ResourceLimits.checkAllocation(shape: [10, 0, 3], of: "x", limit: 0), 0)
        XCTAssertThrowsError(try ResourceLimits.checkAllocation(count: 1001, of: "config 'points'", limit: 8000)) {
            XCTAssertEqual("\($0)", "config 'points' needs 7.8 KiB (8008 bytes), over the 7.8 KiB limit; if that "
                + "is intended, raise it with ICL_MAX_MEMORY (e.g. ICL_MAX_MEMORY=1G)")
        }
        XCTAssertThrowsError(try ResourceLimits.checkAllocation(count: 1 << 61, of: "w", limit: 1 << 30)) {
            XCTAssertEqual("\($0)", "w: 2305843009213693952 elements of 8 bytes overflows a 64-bit size, far over "
                + "the 1.0 GiB limit")
        }
        XCTAssertThrowsError(try ResourceLimits.checkAllocation(shape: [1 << 40, 1 << 40], of: "w")) {
            XCTAssertTrue("\($0)".hasPrefix("w: shape [1099511627776, 1099511627776] has a negative extent or more"))
        }
        XCTAssertThrowsError(try ResourceLimits.checkAllocation(count: 3 << 30, bytesEach: 1, of: "f",
                                                                limit: 1 << 30)) {
            XCTAssertTrue("\($0)".hasSuffix("ICL_MAX_MEMORY=3G)"), "\($0)")
        }
    }

    func testByteDescriptions() {
        XCTAssertEqual(ResourceLimits.describe(bytes: 512), "512 bytes")
        XCTAssertEqual(ResourceLimits.describe(bytes: 3 << 29), "1.5 GiB")
        XCTAssertEqual(ResourceLimits.describe(bytes: 40 << 40), "40.0 TiB")
    }
}
