/// ClientHandshake for a socket that must never block: the exchange is replayed, from the start,
/// over the bytes the proxy has sent so far. Sends an earlier step already made are skipped; the
/// new ones are handed to the caller to make; the replay stops where it needs bytes that have not
/// arrived, and says exactly how many, so the caller never reads past the proxy's last reply
/// (what follows it is the destination's, the program's to read).
///
/// The handshake code stays one straight line, shared with the blocking path; the replay costs
/// a few encodings per step, nothing next to a round trip.
public struct ResumableHandshake: Sendable {
    public enum Step: Sendable {
        /// Make these sends (in order), then wait until the proxy has sent `total` bytes in all
        /// (counted from its first byte).
        case waiting(send: [[UInt8]], total: Int)
        /// The exchange is over: make these sends (none for the proxies we speak to), and the
        /// socket is the program's tunnel. `bound` is the proxy's answer, when it gives one.
        case done(send: [[UInt8]], bound: SocksDestination?)
        case failed(SocksError)
    }

    public let proxy: ProxySpec
    public let destination: SocksDestination
    /// Everything the proxy has sent, in order.
    public private(set) var received: [UInt8] = []
    /// How many sends earlier steps handed out (and the caller made).
    public private(set) var sendsMade = 0
    /// Where the reply the last step waits for begins in `received`: for messages that say
    /// how much of one reply arrived.
    public private(set) var replyStart = 0

    public init(proxy: ProxySpec, destination: SocksDestination) {
        self.proxy = proxy
        self.destination = destination
    }

    /// An exchange that ran live until it was interrupted: `received` all the proxy sent,
    /// `sendsMade` the sends begun (a partly sent one is the caller's to finish).
    public init(proxy: ProxySpec, destination: SocksDestination, received: [UInt8], sendsMade: Int) {
        self.init(proxy: proxy, destination: destination)
        self.received = received
        self.sendsMade = sendsMade
    }

    /// Adds what the proxy sent since the last step.
    public mutating func receive(_ bytes: ArraySlice<UInt8>) { received += bytes }

    /// Whether the last step waits for a reply of unknown length (an HTTP head): the caller
    /// then looks at what has arrived (MSG_PEEK) and steps a copy over it (`lookAhead`) to learn
    /// how much of it to read (`consumed`), rather than read in the smallest steps.
    public private(set) var wantsLookAhead = false
    /// How many of the proxy's bytes (received, then look-ahead) the last step used.
    public private(set) var consumed = 0

    /// Runs the exchange as far as the bytes received allow, and `lookAhead` (bytes that have
    /// arrived but are not read yet) when given.
    public mutating func step(lookAhead: [UInt8] = []) -> Step {
        var replay = Replay(received: lookAhead.isEmpty ? received : received + lookAhead, skip: sendsMade)
        defer {
            wantsLookAhead = replay.peekWanted
            consumed = replay.position
        }
        let outcome: Step
        do throws(SocksError) {
            let bound = try ClientHandshake.connect(over: &replay, proxy: proxy, to: destination)
            outcome = .done(send: replay.fresh, bound: bound)
        } catch {
            if let total = replay.suspendedAt {
                replyStart = replay.replyStart
                outcome = .waiting(send: replay.fresh, total: total)
            } else {
                outcome = .failed(error)
            }
        }
        sendsMade += replay.fresh.count
        return outcome
    }

    /// A transport over what has arrived: reading past it suspends the replay.
    struct Replay: HandshakeTransport {
        let received: [UInt8]
        var skip: Int
        var fresh: [[UInt8]] = []
        var suspendedAt: Int? = nil
        var replyStart = 0

        mutating func send(_ bytes: [UInt8]) throws(SocksError) {
            if skip > 0 { skip -= 1 } else { fresh.append(bytes) }
        }

        /// How much of `received` earlier reads took.
        var position = 0

        var peekWanted = false

        /// What has arrived and is not used yet; at the end of it, the replay stops and asks
        /// its caller to look at the socket.
        mutating func peek(upTo: Int) throws(SocksError) -> [UInt8]? {
            if position < received.count { return Array(received[position...]) }
            peekWanted = true
            suspendedAt = position + 1
            replyStart = position
            throw .socketState(errno: 11 /* EAGAIN */)
        }

        mutating func receive(into buffer: inout [UInt8], total: Int) throws(SocksError) {
            peekWanted = false
            let needed = total - buffer.count
            guard received.count - position >= needed else {
                suspendedAt = position + needed  // counted from the proxy's first byte
                replyStart = position - buffer.count
                // Not an error the program sees: step() turns it into .waiting.
                throw .socketState(errno: 11 /* EAGAIN */)
            }
            buffer += received[position..<(position + needed)]
            position += needed
        }
    }
}
