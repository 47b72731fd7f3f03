import Testing

@testable import WorkerHost

struct MailboxTests {
    @Test func bufferedEventsComeOutInOrder() async {
        let mailbox = Mailbox<Int>()
        for i in 1...3 { mailbox.post(i) }
        var seen: [Int?] = []
        for _ in 1...3 { seen.append(await mailbox.next(until: nil)) }
        #expect(seen == [1, 2, 3])
    }

    @Test(.timeLimit(.minutes(1))) func aWaitEndsAtItsDeadline() async {
        let mailbox = Mailbox<Int>()
        #expect(await mailbox.next(until: .now + .milliseconds(20)) == nil)
        mailbox.post(9)
        #expect(await mailbox.next(until: .now + .seconds(5)) == 9, "an expired wait loses nothing posted later")
    }

    @Test(.timeLimit(.minutes(1))) func aPostWakesTheWaiter() async {
        let mailbox = Mailbox<String>()
        async let received = mailbox.next(until: .now + .seconds(30))
        mailbox.post("tick")
        #expect(await received == "tick")
    }
}
