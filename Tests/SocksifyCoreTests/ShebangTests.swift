import Testing
@testable import SocksifyCore

@Suite struct ShebangTests {
    func parse(_ text: String) -> (String, String?)? {
        Shebang.parse(Array(text.utf8)).map { ($0.interpreter, $0.argument) }
    }

    @Test func interpreterAndOneArgument() {
        #expect(parse("#!/bin/sh\necho hi\n")! == ("/bin/sh", nil))
        #expect(parse("#! /bin/busybox sh\n")! == ("/bin/busybox", "sh"))
        #expect(parse("#!\t/usr/bin/env  -S python3 -u \t\n")! == ("/usr/bin/env", "-S python3 -u"), "the rest is one argument")
        #expect(parse("#!/bin/sh")! == ("/bin/sh", nil), "no newline")
        #expect(parse("#!/bin/sh\r\n")! == ("/bin/sh\r", nil), "as the kernel reads it: a CR is part of the name")
    }

    @Test func notAScript() {
        for text in ["", "#", "#!", "#!\n/bin/sh\n", "#!   \t\n", "echo hi\n", " #!/bin/sh\n", "\u{7F}ELF"] {
            #expect(parse(text) == nil, "\(text.debugDescription)")
        }
    }

    @Test func onlyTheFirst256BytesCount() {
        let long = "#!/bin/sh " + String(repeating: "x", count: 300) + "\n"
        #expect(parse(long)?.1?.utf8.count == Shebang.lineLimit - "#!/bin/sh ".utf8.count)
    }

    @Test func programRunByEnv() {
        func program(_ line: String) -> String? { Shebang.parse(Array(line.utf8))?.programRunByEnv }
        #expect(program("#!/usr/bin/env python3\n") == "python3")
        #expect(program("#!/usr/bin/env -S python3 -u\n") == "python3")
        #expect(program("#!/usr/bin/env -Spython3 -u\n") == "python3")
        #expect(program("#!/bin/env -i LANG=C busybox sh\n") == "busybox")
        #expect(program("#!/usr/bin/env -u HOME -C /tmp node\n") == "node")
        #expect(program("#!/usr/bin/env -- -odd\n") == "-odd")
        #expect(program("#!env ./tool\n") == "./tool")
        #expect(program("#!/usr/bin/env\n") == nil)
        #expect(program("#!/usr/bin/env -S\n") == nil)
        #expect(program("#!/usr/bin/envoy python3\n") == nil, "not env")
        #expect(program("#!/bin/sh -e\n") == nil)
    }
}
