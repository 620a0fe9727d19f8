// SOCKS4 replies: VN, CD, DSTPORT, DSTIP (8 bytes).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSocks4Reply(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = bytes(data, size)
    checkStreamDecoder(input, maximum: 8, fixed: 8, decode: Socks4Reply.decode)
    if case .message(let reply, _)? = try? Socks4Reply.decode(input[...]) {
        require((90...93).contains(reply.code.rawValue), "accepted reply code \(reply.code.rawValue)", input)
        require(reply.port == UInt16(input[2]) << 8 | UInt16(input[3]) && reply.address.bytes == Array(input[4..<8]),
                "port or address differs from the bytes", input)
    }
    return 0
}
