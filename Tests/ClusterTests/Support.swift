import Foundation
import Testing
@testable import Cluster

/// The package root (the directory holding Package.swift), found from this file's path.
enum Repo {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
            url = url.deletingLastPathComponent()
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()
    static var store: ProfileStore { ProfileStore(root: root + "/profiles") }
}

/// A fresh, uniquely named directory under the temporary directory.
func makeTempDir() throws -> String {
    let dir = NSTemporaryDirectory() + "moesim-cluster-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// The message of the InputError `body` throws (records an issue when it throws none or something else).
func inputErrorMessage(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> InputError? {
    do {
        try body()
        Issue.record("expected an InputError, nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch let e as InputError {
        return e
    } catch {
        Issue.record("expected an InputError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

func relClose(_ a: Double, _ b: Double, _ tol: Double) -> Bool {
    abs(a - b) <= tol * max(abs(a), abs(b), 1e-300)
}
