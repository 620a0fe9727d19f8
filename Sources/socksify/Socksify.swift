import ArgumentParser
import Glibc
import SocksifyCore

struct Socksify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "socksify",
        abstract: "Run a program with its TCP connections carried through a SOCKS or HTTP proxy.",
        usage: """
            socksify [<options>] [--] <program> [<argument> ...]
            socksify <subcommand> [<subcommand options>]
            """,
        discussion: """
            The proxy is a URL: socks5://, socks5h://, socks4://, socks4a:// or http:// (HTTP \
            CONNECT; names always go to the proxy), with an optional \
            user:password@ and an IPv6 host in brackets (socks5://[::1]:1080). Without --proxy, \
            a rules file decides (--config, $SOCKSIFY_CONFIG, ~/.config/socksify/config, \
            /etc/socksify.conf) unless $SOCKSIFY_PROXY is set. Loopback destinations go direct \
            unless --proxy-loopback. A program named like a subcommand runs after --.
            """,
        version: "socksify 0.9.0",
        subcommands: [CheckCommand.self, ExplainCommand.self, DoctorCommand.self, ShellOnCommand.self, ShellOffCommand.self]
    )

    @Option(name: .shortAndLong, help: ArgumentHelp("Proxy URL, e.g. socks5://127.0.0.1:1080.", valueName: "url"))
    var proxy: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("Rules file: which program and destination go through which proxy.", valueName: "file"))
    var config: String?

    @Flag(name: .shortAndLong, help: "Print one line per connection decision on stderr.")
    var verbose = false

    @Flag(name: .shortAndLong, help: "Print nothing, not even errors (the program still sees them).")
    var quiet = false

    @Option(help: ArgumentHelp("Append every decision line, with the process id, to this file too ($SOCKSIFY_LOG).", valueName: "file"))
    var log: String?

    @Flag(help: "Proxy loopback destinations (127.0.0.0/8, ::1) too.")
    var proxyLoopback = false

    @Flag(help: "Refuse anything that would leave the machine other than through the proxy (local DNS, UDP, raw sockets).")
    var strict = false

    @Flag(help: "Refuse static, Go and 32-bit programs (exit 126) instead of holding them with the kernel backstop ($SOCKSIFY_NO_BACKSTOP=1 too).")
    var noBackstop = false

    @Option(name: .customLong("dns-pool4"), help: ArgumentHelp("IPv4 range for names the proxy resolves (default 127.192.0.0/10).", valueName: "cidr"))
    var dnsPool4: String?

    @Option(name: .customLong("dns-pool6"), help: ArgumentHelp("IPv6 range for names the proxy resolves (default 100::/64).", valueName: "cidr"))
    var dnsPool6: String?

    @Option(help: ArgumentHelp("Seconds to wait for the TCP connection to the proxy (default 10).", valueName: "seconds"))
    var connectTimeout: Double?

    @Option(help: ArgumentHelp("Seconds to wait for the SOCKS exchange, including the proxy's own connect (default 30).", valueName: "seconds"))
    var handshakeTimeout: Double?

    @Argument(parsing: .postTerminator, help: ArgumentHelp("The program to run and its arguments.", valueName: "program"))
    var command: [String] = []

    /// Options that take a value, for finding where the program's own arguments begin.
    static let optionsWithValue: [String] = ["-p", "--proxy", "-c", "--config", "--connect-timeout", "--handshake-timeout", "--dns-pool4", "--dns-pool6", "--log"]

    /// The options as the launch needs them (LaunchOptions.swift).
    var launchOptions: LaunchOptions {
        LaunchOptions(proxy: proxy, config: config, verbose: verbose, quiet: quiet, log: log, proxyLoopback: proxyLoopback,
                      strict: strict, noBackstop: noBackstop, dnsPool4: dnsPool4, dnsPool6: dnsPool6,
                      connectTimeout: connectTimeout, handshakeTimeout: handshakeTimeout, command: command)
    }

    func run() throws {
        try launchOptions.run()
    }
}

/// One line on stderr, then exit.
func fail(_ message: String, status: Int32) -> Never {
    Launcher.printError(message)
    exit(status)
}
