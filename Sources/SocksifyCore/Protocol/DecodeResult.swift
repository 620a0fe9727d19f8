/// What a decoder says about the bytes received so far: a whole message, or how many bytes
/// it needs in total before it can say more. Decoders never ask for more than the message holds,
/// so a reader that reads exactly that many never swallows the program's data that follows.
public enum DecodeResult<Message> {
    case message(Message, consumed: Int)
    case needMore(total: Int)
}
