// Shared by every libFuzzer target: compiled into each fuzzer together with the core's sources
// (one module, so internal declarations are visible as with @testable in the unit tests).
// A property that fails calls fatalError with the input in hex; libFuzzer then saves the input
// as fuzz/artifacts/TARGET/crash-… and prints how to rerun it.

#if canImport(Glibc)
import Glibc
#endif

/// Known bugs (see Tests/SocksifyCoreTests/FuzzTests.swift, FuzzKnownBugs) are stepped around
/// unless SOCKSIFY_FUZZ_STRICT is set, so that a long run looks for new ones.
let fuzzStrict: Bool = getenv("SOCKSIFY_FUZZ_STRICT") != nil

func fuzzHex(_ bytes: some Collection<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self) + " (\(bytes.count) bytes)"
}

/// Stops the fuzzer with the failed property and the input.
func require(_ ok: Bool, _ what: @autoclosure () -> String, _ input: [UInt8]) {
    if !ok { fatalError("property failed: \(what())\ninput (hex): \(fuzzHex(input))") }
}

func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

// MARK: decoders

enum Outcome<M: Equatable>: Equatable {
    case message(M, consumed: Int)
    case needMore(Int)
    case failed(SocksError)

    init(_ decode: (ArraySlice<UInt8>) throws(SocksError) -> DecodeResult<M>, _ bytes: ArraySlice<UInt8>) {
        do throws(SocksError) {
            switch try decode(bytes) {
            case .message(let m, let consumed): self = .message(m, consumed: consumed)
            case .needMore(let total): self = .needMore(total)
            }
        } catch {
            self = .failed(error)
        }
    }
}

/// The properties every stream decoder keeps (see fuzzCheckStreamDecoder in Tests/SocksifyCoreTests/FuzzTests.swift): asks for more
/// than it has and at most `maximum`; consumes at most what it has; every prefix of a message
/// asks for more, never past the message; re-encodes to the consumed bytes where `encode` is given.
func checkStreamDecoder<M: Equatable>(
    _ input: [UInt8], maximum: Int, fixed: Int? = nil,
    decode: (ArraySlice<UInt8>) throws(SocksError) -> DecodeResult<M>,
    encode: ((M) throws(SocksError) -> [UInt8])? = nil
) {
    let outcome = Outcome(decode, input[...])
    let padded: [UInt8] = [0xEE, 0x05, 0x03] + input
    require(Outcome(decode, padded[3...]) == outcome, "a slice at index 3 decodes differently", input)

    func prefixes(_ length: Int, limit: Int) {
        for n in 0..<length {
            guard case .needMore(let total) = Outcome(decode, input[0..<n]) else {
                require(false, "prefix of \(n) bytes does not ask for more", input)
                return
            }
            require(total > n && total <= limit, "prefix of \(n) bytes asks for \(total) (limit \(limit))", input)
        }
    }

    switch outcome {
    case .needMore(let total):
        require(total > input.count && total <= min(maximum, fixed ?? maximum),
                "needMore(total: \(total)) with \(input.count) bytes, largest message \(maximum)", input)
        prefixes(input.count, limit: total)
    case .message(let message, let consumed):
        require(consumed >= 1 && consumed <= input.count && consumed <= maximum && (fixed == nil || consumed == fixed),
                "consumed \(consumed) of \(input.count)", input)
        require(Outcome(decode, input[0..<consumed]) == outcome, "the consumed bytes alone decode differently", input)
        prefixes(consumed, limit: consumed)
        if let encode {
            do throws(SocksError) {
                let again = try encode(message)
                require(again == Array(input[0..<consumed]), "re-encodes to \(fuzzHex(again))", input)
            } catch {
                require(false, "does not re-encode: \(error)", input)
            }
        }
    case .failed(let error):
        require(!error.reason.isEmpty, "an error without a reason", input)
    }
}

/// Socks5AddressCodec.encode, but names it is known not to write back (empty, or bytes >= 0x80,
/// which decode reads as Latin-1) are written one byte per scalar, checking decode lost nothing.
func encodeAddress(_ destination: SocksDestination) throws(SocksError) -> [UInt8] {
    if !fuzzStrict, case .domain(let name) = destination.address,
       name.isEmpty || name.unicodeScalars.contains(where: { $0.value >= 0x80 }) {
        var out: [UInt8] = [0x03, UInt8(truncatingIfNeeded: name.unicodeScalars.count)]
        for scalar in name.unicodeScalars {
            guard scalar.value <= 0xFF else { throw .invalidRequest("scalar \(scalar.value) in a decoded name") }
            out.append(UInt8(scalar.value))
        }
        return out + [UInt8(destination.port >> 8), UInt8(truncatingIfNeeded: destination.port)]
    }
    return try Socks5AddressCodec.encode(destination)
}

// MARK: passwords

let fuzzPassword = "S3cr3tPw"

func lowercased(_ bytes: [UInt8]) -> [UInt8] { ProxyURL.asciiLowercased(bytes) }

func occurrences(of needle: String, in haystack: [UInt8]) -> Int {
    let n = lowercased(Array(needle.utf8)), h = lowercased(haystack)
    guard h.count >= n.count else { return 0 }
    var count = 0
    for i in 0...(h.count - n.count) where h[i..<(i + n.count)].elementsEqual(n) { count += 1 }
    return count
}

/// The input holds `:PASSWORD@` and the password nowhere else: an error must not show it.
func holdsPassword(_ input: [UInt8]) -> Bool {
    guard let at = ProxyURL.find(input, ":" + fuzzPassword + "@"), occurrences(of: fuzzPassword, in: input) == 1 else {
        return false
    }
    // Known bug: a "://" after user:password@ makes the scheme error quote the password.
    if !fuzzStrict, let scheme = ProxyURL.find(input, "://"), scheme > at { return false }
    return true
}
