import NIOCore

extension EventLoop {
    /// Sleeps 10 ms on this loop's timer, which task cancellation does not end early: a wait that polls with it
    /// stays bounded by its own deadline and never spins when its task is cancelled.
    func pause() async {
        try? await scheduleTask(in: .milliseconds(10)) {}.futureResult.get()  // a timer cannot fail
    }
}
