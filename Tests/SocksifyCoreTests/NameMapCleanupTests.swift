import Testing
import SocksifyLibc
@testable import SocksifyCore

/// NameMapCleanup.Verdict is not Equatable (the shim never compares it); tests compare this.
enum Judged: Equatable {
    case notOurs, inUse, stale
    init(_ verdict: NameMapCleanup.Verdict) {
        switch verdict {
        case .notOurs: self = .notOurs
        case .inUse: self = .inUse
        case .stale: self = .stale
        }
    }
}

@Suite struct NameMapCleanupTests {
    static let user: UInt32 = 1000
    static let now: Int64 = 1_700_000_000
    static let stamp = NameMapStamp(token: 0x1234_5678_9ABC_DEF0, creatorPid: 4242, creatorStartTime: 987_654)

    /// A map of `user`'s, nobody attached, last touched a minute ago, made by pid 4242.
    static func segment(_ change: (inout sx_shm_facts) -> Void = { _ in }) -> sx_shm_facts {
        var facts = sx_shm_facts()
        facts.id = 7
        facts.key = 0
        facts.owner_uid = user
        facts.creator_uid = user
        facts.mode = 0o600
        facts.size = UInt64(SharedNameMap.size)
        facts.attachments = 0
        facts.creator_pid = 4242
        facts.attach_time = now - 60
        facts.detach_time = now - 60
        facts.change_time = now - 120
        change(&facts)
        return facts
    }

    /// What the launcher asked, in order.
    final class Asked { var steps: [String] = [] }

    static func judge(_ facts: sx_shm_facts, stamp: NameMapStamp? = stamp,
                      creator: NameMapCleanup.ProcessLife = .none, named: [NameMapReference] = [],
                      asked: Asked = Asked()) -> Judged {
        Judged(NameMapCleanup.verdict(
            segment: facts, user: user, now: now,
            stamp: { asked.steps.append("stamp"); return stamp },
            creator: { pid in asked.steps.append("creator \(pid)"); return creator },
            named: { reference in asked.steps.append("named"); return named.contains(reference) }))
    }

    @Test func unusedMapOfAGoneRunIsStale() {
        let asked = Asked()
        #expect(Self.judge(Self.segment(), asked: asked) == .stale)
        #expect(asked.steps == ["stamp", "creator 4242", "named"])
    }

    // MARK: in use

    @Test(arguments: [1, 2, 100] as [UInt64])
    func attachedIsInUseWithoutLookingFurther(attachments: UInt64) {
        let asked = Asked()
        #expect(Self.judge(Self.segment { $0.attachments = attachments }, asked: asked) == .inUse)
        #expect(asked.steps.isEmpty, "no header read, no /proc")
    }

    /// Between the launcher's exec and the program's first attach nobody is attached: the
    /// launcher's pid (the program keeps it) still runs.
    @Test func creatorStillRunning() {
        #expect(Self.judge(Self.segment(), creator: .started(987_654)) == .inUse)
    }

    @Test func creatorPidThatCannotBeLookedAtCountsAsRunning() {
        #expect(Self.judge(Self.segment(), creator: .unknown) == .inUse)
    }

    /// The creator's pid now belongs to a process that started at another time: a reused pid.
    @Test func reusedCreatorPidIsNotTheCreator() {
        #expect(Self.judge(Self.segment(), creator: .started(987_655)) == .stale)
        #expect(Self.judge(Self.segment(), creator: .started(1)) == .stale)
    }

    /// A process of the run between an exec and its attach has the map in its environment.
    @Test func namedInARunningProcessEnvironment() {
        #expect(Self.judge(Self.segment(), named: [NameMapReference(segment: 7, token: Self.stamp.token)]) == .inUse)
        #expect(Self.judge(Self.segment(), named: [NameMapReference(segment: 8, token: Self.stamp.token)]) == .stale,
                "another segment")
        #expect(Self.judge(Self.segment(), named: [NameMapReference(segment: 7, token: 1)]) == .stale,
                "the same identifier with another run's token")
    }

    @Test(arguments: [0, 1] as [Int64])
    func usedInTheLastSecondsIsLeftAlone(ago: Int64) {
        for field in 0..<3 {
            let asked = Asked()
            let facts = Self.segment {
                switch field {
                case 0: $0.attach_time = Self.now - ago
                case 1: $0.detach_time = Self.now - ago
                default: $0.change_time = Self.now - ago
                }
            }
            #expect(Self.judge(facts, asked: asked) == .inUse, "field \(field), \(ago) s ago")
            #expect(asked.steps.isEmpty)
        }
        #expect(Self.judge(Self.segment { $0.detach_time = Self.now - NameMapCleanup.quietSeconds }) == .stale)
    }

    @Test func aClockThatWentBackLeavesItAlone() {
        #expect(Self.judge(Self.segment { $0.detach_time = Self.now + 3600 }) == .inUse)
    }

    // MARK: not ours

    @Test func otherUsersSegmentsAreNotLookedAt() {
        for change in [{ (f: inout sx_shm_facts) in f.owner_uid = 0 }, { $0.creator_uid = 0 }, { $0.owner_uid = 1001; $0.creator_uid = 1001 }] {
            let asked = Asked()
            #expect(Self.judge(Self.segment(change), asked: asked) == .notOurs)
            #expect(asked.steps.isEmpty)
        }
    }

    @Test(arguments: [0o644, 0o660, 0o666, 0o400, 0o700] as [UInt32])
    func otherModesAreNotOurs(mode: UInt32) {
        #expect(Self.judge(Self.segment { $0.mode = mode }) == .notOurs)
    }

    @Test func removedFlagDoesNotCount() {
        #expect(Self.judge(Self.segment { $0.mode = 0o1600 }) == .stale, "SHM_DEST is not a permission bit")
    }

    @Test func segmentsWithAKeyAreNotOurs() {
        #expect(Self.judge(Self.segment { $0.key = 0x5100_0001 }) == .notOurs)
    }

    @Test(arguments: [0, 4096, UInt64(SharedNameMap.size) - 1, UInt64(SharedNameMap.size) + 1, UInt64(SharedNameMap.size) * 2])
    func otherSizesAreNotOurs(size: UInt64) {
        let asked = Asked()
        #expect(Self.judge(Self.segment { $0.size = size }, asked: asked) == .notOurs)
        #expect(asked.steps.isEmpty)
    }

    @Test func withoutOurHeaderItIsNotOurs() {
        let asked = Asked()
        #expect(Self.judge(Self.segment(), stamp: nil, asked: asked) == .notOurs)
        #expect(asked.steps == ["stamp"], "neither /proc nor environments are read for it")
        #expect(Self.judge(Self.segment(), stamp: NameMapStamp()) == .notOurs, "a process's own map has no token")
    }

    @Test func headerNamingAnotherCreatorIsNotOurs() {
        var stamp = Self.stamp
        stamp.creatorPid = 4243
        #expect(Self.judge(Self.segment(), stamp: stamp) == .notOurs)
    }

    // MARK: what /proc shows

    @Test func mapsNamedInAnEnvironment() {
        let environ = ascii("HOME=/root\0SOCKSIFY_DNS_MAP=sysv:12:00000000000000ff\0PATH=/bin\0")
        #expect(NameMapCleanup.maps(namedIn: environ) == [NameMapReference(segment: 12, token: 0xFF)])
        #expect(NameMapCleanup.maps(namedIn: ascii("SOCKSIFY_DNS_MAP=sysv:1:0000000000000001")) == [NameMapReference(segment: 1, token: 1)],
                "first entry, no trailing NUL")
        #expect(NameMapCleanup.maps(namedIn: []) == [])
        #expect(NameMapCleanup.maps(namedIn: ascii("X_SOCKSIFY_DNS_MAP=sysv:1:0000000000000001\0")) == [], "another variable")
        #expect(NameMapCleanup.maps(namedIn: ascii("SOCKSIFY_DNS_MAP=/dev/shm/socksify-names-1-2\0")) == [], "not a map of ours")
        #expect(NameMapCleanup.maps(namedIn: ascii("A=SOCKSIFY_DNS_MAP=sysv:1:0000000000000001\0")) == [], "inside another value")
        #expect(NameMapCleanup.maps(namedIn: ascii("SOCKSIFY_DNS_MAP=sysv:1:0000000000000001\0SOCKSIFY_DNS_MAP=sysv:2:0000000000000002\0")).count == 2)
    }

    @Test func startTimeFromStat() {
        let stat = "4242 (python3) S 1 4242 4242 34816 4242 4194304 1066 0 0 0 3 1 0 0 20 0 1 0 987654 21577728 2408 18446744073709551615 1 1 0 0 0 0 0 16781312 2 0 0 0 17 3 0 0 0 0 0"
        #expect(NameMapCleanup.startTime(fromStat: ascii(stat)) == 987_654)
    }

    @Test func startTimeWithAnAwkwardCommandName() {
        let stat = "77 (a) b (c) d) R 1 77 77 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 55 0 0 0"
        #expect(NameMapCleanup.startTime(fromStat: ascii(stat)) == 55)
    }

    @Test(arguments: ["", "4242 python3 S 1", "4242 (x) S 1 2 3", "4242 (x) S 1 4242 4242 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 -5 0",
                      "4242 (x) S 1 4242 4242 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99999999999999999999 0"])
    func startTimeRefusesWhatIsNotStat(text: String) {
        #expect(NameMapCleanup.startTime(fromStat: ascii(text)) == nil)
    }
}
