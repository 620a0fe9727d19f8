// SOCKS5 replies from a proxy: method selection, RFC 1929 status, CONNECT/ASSOCIATE reply, and
// the address codec they share. The first byte picks the decoder; the rest is the reply.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSocks5Reply(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let all = bytes(data, size)
    guard let selector = all.first else { return 0 }
    let input = Array(all.dropFirst())
    switch selector % 4 {
    case 0:
        checkStreamDecoder(input, maximum: 2, fixed: 2, decode: Socks5MethodSelection.decode)
    case 1:
        checkStreamDecoder(input, maximum: 2, fixed: 2, decode: Socks5PasswordReply.decode)
    case 2:
        checkStreamDecoder(input, maximum: 1 + 1 + 255 + 2, decode: Socks5AddressCodec.decode, encode: encodeAddress)
    default:
        checkStreamDecoder(input, maximum: 3 + 1 + 1 + 255 + 2, decode: Socks5Reply.decode)
        if case .message(let reply, let consumed)? = try? Socks5Reply.decode(input[...]) {
            let again = try? [0x05, reply.code.rawValue, input[2]] + encodeAddress(reply.bound)
            require(again == Array(input[0..<consumed]), "the reply does not re-encode", input)
        }
    }
    return 0
}
