import NumericCore
import XCTest

/// Every stored `Tensor` in `value`, found by reflection (recursing into structs, arrays and optionals),
/// with its property path for messages.
public func reflectedTensors(_ value: Any, path: String = "") -> [(path: String, tensor: Tensor)] {
    if let t = value as? Tensor { return [(path, t)] }
    var found: [(String, Tensor)] = []
    for (i, child) in Mirror(reflecting: value).children.enumerated() {
        let name = child.label ?? "[\(i)]"
        found += reflectedTensors(child.value, path: path.isEmpty ? name : "\(path).\(name)")
    }
    return found
}

/// Checks that a model's `parameterPaths` reach every stored tensor exactly once: it marks each parameter
/// reached by the walk with a distinct constant and then finds, by reflection, that every tensor of the
/// model carries exactly one mark. A tensor the walk misses, or one it visits twice, fails.
public func assertWalkCoversEveryParameter<M: ParameterWalkable>(_ model: M, file: StaticString = #filePath,
                                                                line: UInt = #line) {
    var marked = model
    let paths = model.parameterPaths
    for (i, p) in paths.enumerated() {
        let shape = marked[keyPath: p.value].shape
        marked[keyPath: p.value] = Tensor(repeating: Double(i + 1), shape: shape)
    }
    // Empty tensors (an unused positional table, say) hold nothing to mark or train: they are left out of both counts.
    let found = reflectedTensors(marked).filter { $0.tensor.scalarCount > 0 }
    let walked = paths.filter { marked[keyPath: $0.value].scalarCount > 0 }.count
    XCTAssertEqual(found.count, walked,
                   "reflection finds \(found.count) tensors, the walk lists \(walked)", file: file, line: line)
    var seen = Set<Int>()
    for (path, t) in found {
        guard let first = t.scalars.first, t.scalars.allSatisfy({ $0 == first }), first >= 1,
              first <= Double(paths.count), first == first.rounded() else {
            XCTFail("tensor \(path) was not reached by the parameter walk", file: file, line: line)
            continue
        }
        XCTAssertTrue(seen.insert(Int(first)).inserted, "tensor \(path) shares a walk entry", file: file, line: line)
    }
    XCTAssertEqual(Set(paths.map(\.name)).count, paths.count, "parameter names are not unique", file: file, line: line)
}
