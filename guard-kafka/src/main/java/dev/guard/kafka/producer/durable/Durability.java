package dev.guard.kafka.producer.durable;

/**
 * When an appended record of a {@link RecordLog} is on stable storage.
 *
 * <ul>
 *   <li>{@link #PER_RECORD}: {@code append} returns after {@code fsync} of the record: it survives a process
 *       crash and an OS crash or power loss (as far as the disk honours {@code fsync}).</li>
 *   <li>{@link #GROUP_COMMIT}: {@code append} returns once the record is written to the OS (it survives a process
 *       crash, e.g. SIGKILL); one thread {@code fsync}s every record appended since its last {@code fsync}, at
 *       most once per interval; {@link RecordLog#whenDurable(long)} completes when the record survives an OS
 *       crash too. An OS crash loses at most the records appended in the last interval plus one {@code fsync}.</li>
 *   <li>{@link #NONE}: written to the OS on return (survives a process crash), never {@code fsync}ed by the log:
 *       an OS crash loses whatever the OS had not written back.</li>
 * </ul>
 */
public enum Durability {
    /** fsync before {@code append} returns. */
    PER_RECORD,
    /** One fsync per interval covering every append since the last. */
    GROUP_COMMIT,
    /** No fsync. */
    NONE
}
