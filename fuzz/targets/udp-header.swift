// The SOCKS5 UDP header in front of a relayed datagram, decoded straight from libFuzzer's buffer
// (exactly `size` bytes, so AddressSanitizer reports any read past the datagram).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUDPHeader(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = bytes(data, size)
    let datagram = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)
    let decoded: (header: Socks5UDPHeader, dataOffset: Int)
    do throws(SocksError) {
        decoded = try Socks5UDPHeader.decode(datagram)
    } catch {
        require(!error.reason.isEmpty, "an error without a reason", input)
        return 0
    }
    let offset = decoded.dataOffset
    require(offset >= 7 && offset <= size && offset <= Socks5UDPHeader.maximumLength, "data offset \(offset) of \(size)", input)
    do throws(SocksError) {
        let again = try [0, 0, decoded.header.fragment] + encodeAddress(decoded.header.address)
        require(again == Array(input[0..<offset]), "re-encodes to \(fuzzHex(again))", input)
    } catch {
        require(false, "does not re-encode: \(error)", input)
    }
    // Every cut inside the header is malformed (a datagram is whole or nothing), never a trap.
    for cut in 0..<offset {
        let shorter = Array(input[0..<cut])
        let ok = shorter.withUnsafeBytes { raw -> Bool in
            do throws(SocksError) { _ = try Socks5UDPHeader.decode(raw); return true } catch { return false }
        }
        require(!ok, "the first \(cut) bytes of a \(offset)-byte header decode", input)
    }
    return 0
}
