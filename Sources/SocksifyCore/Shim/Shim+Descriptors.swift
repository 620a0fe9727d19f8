import SocksifyLibc

// What the close and dup hooks (Sources/CShim/close.c) ask of the core once a descriptor's
// registry byte says it matters: the UDP association loses or gains a descriptor
// (associations.detach / duplicate), the shim's own descriptor moves out of the way
// (associations.relocateControl), an interrupted tunnel is forgotten (forgetInterrupted), and
// a proxied peer follows its copies (below).
extension Shim {
    /// dup/dup2/dup3/F_DUPFD of a proxied socket: getpeername on the copy answers the same.
    public func copyPeer(from fd: Int32, to copy: Int32) {
        peers.copy(from: fd, to: copy)
        kernel.setFacts(copy, SX_FACT_PEER, SX_FACT_PEER)
    }
}
