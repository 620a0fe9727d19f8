import Testing
import SocksifyLibc
@testable import SocksifyCore

@Suite struct ErrnoNameTests {
    static let named: [(Int32, String)] = [
        (ECONNREFUSED, "ECONNREFUSED"), (ETIMEDOUT, "ETIMEDOUT"), (EHOSTUNREACH, "EHOSTUNREACH"),
        (ENETUNREACH, "ENETUNREACH"), (EACCES, "EACCES"), (EPROTO, "EPROTO"), (ECONNRESET, "ECONNRESET"),
        (ECONNABORTED, "ECONNABORTED"), (EOPNOTSUPP, "EOPNOTSUPP"), (EAFNOSUPPORT, "EAFNOSUPPORT"),
        (EINVAL, "EINVAL"), (EPIPE, "EPIPE"), (EMFILE, "EMFILE"), (ENFILE, "ENFILE"), (ENOBUFS, "ENOBUFS"),
        (ENOMEM, "ENOMEM"), (EADDRNOTAVAIL, "EADDRNOTAVAIL"), (EPERM, "EPERM"), (EISCONN, "EISCONN"),
        (EALREADY, "EALREADY"), (EINTR, "EINTR"), (EBADF, "EBADF"),
    ]

    @Test(arguments: named)
    func name(value: Int32, name: String) {
        #expect(ErrnoName.name(value) == name)
        let described = ErrnoName.describe(value)
        #expect(described.hasSuffix(" (" + name + ")"))
        #expect(described.count > name.count + 3, "has the strerror text")
    }

    @Test func unknownValues() {
        #expect(ErrnoName.name(0) == "errno 0")
        #expect(ErrnoName.name(9999) == "errno 9999")
        #expect(ErrnoName.name(-1) == "errno -1")
        #expect(ErrnoName.describe(9999).hasSuffix("(errno 9999)"))
    }
}
