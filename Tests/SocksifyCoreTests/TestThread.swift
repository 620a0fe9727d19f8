#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Plain OS threads for tests whose other end must run while the test thread blocks in poll(2):
/// Swift concurrency tasks can starve when the test runner's threads are all blocked.
private final class ThreadStart {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

/// Where a thread leaves its result.
final class ThreadResult<Value>: @unchecked Sendable {
    var value: Value?
}

struct TestThread<Value>: @unchecked Sendable {
    private let thread: pthread_t
    private let result: ThreadResult<Value>

    init(_ body: @escaping @Sendable () -> Value) {
        let result = ThreadResult<Value>()
        let start = ThreadStart { result.value = body() }
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { raw in
            Unmanaged<ThreadStart>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, Unmanaged.passRetained(start).toOpaque())
        precondition(status == 0, "pthread_create failed")
        self.thread = thread
        self.result = result
    }

    /// Waits for the thread and returns what its body returned.
    func join() -> Value {
        pthread_join(thread, nil)
        return result.value!
    }
}

/// Sleeps the calling OS thread.
func sleepMilliseconds(_ ms: Int) {
    usleep(useconds_t(ms * 1000))
}
