/// Host names as socksify keeps them: ASCII, lower case, no trailing dot, checked for the shape
/// DNS allows (RFC 1123 labels, plus `_` which real names use), so garbage never reaches a proxy.
public enum HostName {
    public static func normalized(_ name: [UInt8]) -> [UInt8]? {
        var bytes = name
        if bytes.last == UInt8(ascii: ".") { bytes.removeLast() }
        guard !bytes.isEmpty, bytes.count <= 253 else { return nil }
        var labelLength = 0
        for i in bytes.indices {
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                bytes[i] = b + 32
                labelLength += 1
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"):
                labelLength += 1
            case UInt8(ascii: "."):
                guard labelLength > 0 else { return nil }
                labelLength = 0
            default:
                return nil
            }
            guard labelLength <= 63 else { return nil }
        }
        return labelLength > 0 ? bytes : nil
    }

    public static func string(_ bytes: [UInt8]) -> String {
        var s = ""
        for b in bytes { s.unicodeScalars.append(Unicode.Scalar(b)) }
        return s
    }
}
