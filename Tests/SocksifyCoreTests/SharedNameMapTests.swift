import Testing
import SocksifyLibc
@testable import SocksifyCore

@Suite struct SharedNameMapTests {
    static var user: UInt32 { UInt32(geteuid()) }

    static func facts(_ change: (inout sx_shm_facts) -> Void = { _ in }) -> sx_shm_facts {
        var facts = sx_shm_facts()
        facts.id = 9
        facts.owner_uid = user
        facts.creator_uid = user
        facts.mode = 0o600
        facts.size = UInt64(SharedNameMap.size)
        change(&facts)
        return facts
    }

    static func failure(_ attachment: SharedNameMap.Attachment) -> String? {
        if case .failed(let why) = attachment { return why }
        return nil
    }

    static func table(_ attachment: SharedNameMap.Attachment) -> NameTable? {
        if case .attached(let table) = attachment { return table }
        return nil
    }

    static func created(_ stamp: NameMapStamp) throws -> NameMapReference {
        switch SharedNameMap.create(stamp: stamp) {
        case .created(let reference): return reference
        case .failed(let why):
            Issue.record("cannot create a segment: \(why)")
            throw CancellationError()
        }
    }

    // MARK: whose segment

    @Test func aMapOfThisUsersIsAcceptable() {
        #expect(SharedNameMap.problemWith(Self.facts(), user: Self.user) == nil)
        #expect(SharedNameMap.problemWith(Self.facts { $0.size += 4096 }, user: Self.user) == nil, "larger is fine for attaching")
        #expect(SharedNameMap.problemWith(Self.facts { $0.mode = 0o1600 }, user: Self.user) == nil, "marked for removal, still usable")
    }

    @Test func otherUsersSegments() {
        let other = Self.user &+ 1
        #expect(SharedNameMap.problemWith(Self.facts { $0.owner_uid = other }, user: Self.user)
                == "shared memory segment 9 belongs to user \(other), not to this user (\(Self.user))")
        #expect(SharedNameMap.problemWith(Self.facts { $0.creator_uid = other }, user: Self.user) != nil,
                "made by another user, then given to this one")
    }

    @Test func segmentsOthersMayUse() {
        #expect(SharedNameMap.problemWith(Self.facts { $0.mode = 0o666 }, user: Self.user)
                == "shared memory segment 9 is open to other users (mode 666)")
        #expect(SharedNameMap.problemWith(Self.facts { $0.mode = 0o640 }, user: Self.user) != nil)
    }

    @Test func segmentsWithAKey() {
        #expect(SharedNameMap.problemWith(Self.facts { $0.key = 42 }, user: Self.user)
                == "shared memory segment 9 has a key: socksify did not make it")
    }

    @Test func tooSmall() {
        #expect(SharedNameMap.problemWith(Self.facts { $0.size = 4096 }, user: Self.user)
                == "shared memory segment 9 is too small for a name map (4096 bytes)")
    }

    // MARK: real segments

    @Test func createThenAttachSharesTheNames() throws {
        let stamp = NameMapStamp(token: 0xFEED_F00D_0000_0001, creatorPid: getpid(), creatorStartTime: 12)
        let reference = try Self.created(stamp)
        defer { SharedNameMap.remove(reference) }
        #expect(reference.token == stamp.token)
        var facts = sx_shm_facts()
        #expect(sx_shm_facts_of(reference.segment, &facts) == 0)
        #expect(facts.mode & 0o777 == 0o600 && facts.key == 0 && facts.size == UInt64(SharedNameMap.size))
        #expect(facts.attachments == 1, "the creator stays attached")

        let first = try #require(Self.table(SharedNameMap.attach(reference)))
        let second = try #require(Self.table(SharedNameMap.attach(reference)))
        #expect(first.stamp == stamp)
        let position = first.position(for: ascii("shared.example"), poolSize: 1 << 22)
        #expect(second.name(at: position, poolSize: 1 << 22) == ascii("shared.example"), "two attachments, one map")
        #expect(sx_shm_facts_of(reference.segment, &facts) == 0 && facts.attachments == 3)
    }

    @Test func anotherRunsTokenIsRefusedAndLeavesNoAttachment() throws {
        let reference = try Self.created(NameMapStamp(token: 0xFEED_F00D_0000_0002, creatorPid: getpid()))
        defer { SharedNameMap.remove(reference) }
        var wrong = reference
        wrong.token ^= 1
        #expect(Self.failure(SharedNameMap.attach(wrong)) == "shared memory segment \(reference.segment) holds the name map of another run")
        var facts = sx_shm_facts()
        #expect(sx_shm_facts_of(reference.segment, &facts) == 0 && facts.attachments == 1)
    }

    @Test func aSegmentWithoutAMap() throws {
        let id = sx_shm_create(SharedNameMap.size)
        try #require(id >= 0)
        defer { _ = sx_shm_remove(id) }
        #expect(Self.failure(SharedNameMap.attach(NameMapReference(segment: id, token: 1)))
                == "shared memory segment \(id) holds no socksify name map")
    }

    @Test func aSegmentThatIsGone() throws {
        let id = sx_shm_create(SharedNameMap.size)
        try #require(id >= 0)
        #expect(sx_shm_remove(id) == 0, "nobody attached: gone at once")
        #expect(Self.failure(SharedNameMap.attach(NameMapReference(segment: id, token: 1)))
                == "there is no shared memory segment \(id) here: it was removed, its run has ended, or this process is in another IPC namespace")
    }

    /// `ipcrm` on a map in use only marks it: processes of the run (attached, or attaching while
    /// one still is) keep it until the last one detaches.
    @Test func aRemovedMapStaysWhileAttached() throws {
        let reference = try Self.created(NameMapStamp(token: 0xFEED_F00D_0000_0003, creatorPid: getpid()))
        SharedNameMap.remove(reference)
        let table = try #require(Self.table(SharedNameMap.attach(reference)))
        let position = table.position(for: ascii("after.removal"), poolSize: 1 << 22)
        #expect(table.name(at: position, poolSize: 1 << 22) == ascii("after.removal"))
    }

    @Test func heldOnlyWithAUsableValue() {
        #expect(HeldNameMap.hold(nil) == nil)
        #expect(HeldNameMap.hold("/dev/shm/socksify-names-1-2") == nil)
        let held = HeldNameMap.hold("sysv:2147483646:00000000000000aa")
        #expect(held?.reference == NameMapReference(segment: 2_147_483_646, token: 0xAA))
    }
}
