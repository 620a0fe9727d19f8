import Testing
@testable import SocksifyCore

// Helpers shared by the test files: address literals, DecodeResult accessors and the
// "every truncated prefix asks for exactly the right total" check every decoder must pass.

func ip(_ text: String) -> IPAddress {
    guard let address = IPAddress.parse(text) else { fatalError("test literal '\(text)' is not an IP address") }
    return address
}

func v4(_ text: String) -> IPv4Address {
    guard case .v4(let a) = ip(text) else { fatalError("test literal '\(text)' is not IPv4") }
    return a
}

func v6(_ text: String) -> IPv6Address {
    guard case .v6(let a) = ip(text) else { fatalError("test literal '\(text)' is not IPv6") }
    return a
}

func ascii(_ text: String) -> [UInt8] { Array(text.utf8) }

func destination(_ host: String, _ port: UInt16) -> SocksDestination {
    if let address = IPAddress.parse(host) { return SocksDestination(.ip(address), port: port) }
    return SocksDestination(.domain(host), port: port)
}

extension DecodeResult {
    var needMoreTotal: Int? {
        if case .needMore(let total) = self { return total }
        return nil
    }

    var decodedMessage: Message? {
        if case .message(let message, _) = self { return message }
        return nil
    }

    var decodedConsumed: Int? {
        if case .message(_, let consumed) = self { return consumed }
        return nil
    }
}

/// Every proper prefix of `full` (also as a slice that does not start at index 0) must decode to
/// `.needMore(total: expectedTotal(prefixLength))` and never throw.
func expectNeedMoreForEveryPrefix<M>(
    of full: [UInt8],
    decode: (ArraySlice<UInt8>) throws(SocksError) -> DecodeResult<M>,
    expectedTotal: (Int) -> Int,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let padded: [UInt8] = [0xEE, 0xEE, 0xEE] + full
    for n in 0..<full.count {
        for (label, slice) in [("at 0", full[0..<n]), ("at 3", padded[3..<(3 + n)])] {
            do {
                let result = try decode(slice)
                #expect(result.needMoreTotal == expectedTotal(n),
                        "prefix of \(n) bytes (\(label))", sourceLocation: sourceLocation)
            } catch {
                Issue.record("prefix of \(n) bytes (\(label)) threw \(error)", sourceLocation: sourceLocation)
            }
        }
    }
}

/// Decodes `full` followed by unrelated bytes, from index 0 and from a slice that starts later:
/// both must give the same message and consume exactly `full.count` bytes.
func expectDecodesExactly<M: Equatable>(
    _ full: [UInt8],
    as expected: M,
    decode: (ArraySlice<UInt8>) throws(SocksError) -> DecodeResult<M>,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let trailing: [UInt8] = ascii("GET / HTTP/1.1\r\n")
    let withTrailing = full + trailing
    let padded: [UInt8] = [0xEE, 0xEE, 0xEE] + full + trailing
    for (label, slice) in [("exact", full[...]), ("with trailing data", withTrailing[...]), ("offset slice", padded[3...])] {
        do {
            let result = try decode(slice)
            #expect(result.decodedMessage == expected, "\(label)", sourceLocation: sourceLocation)
            #expect(result.decodedConsumed == full.count, "\(label)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(label) threw \(error)", sourceLocation: sourceLocation)
        }
    }
}
