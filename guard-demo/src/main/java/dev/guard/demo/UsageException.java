package dev.guard.demo;

/** A command line that cannot be run: the message says why, the caller prints it with the usage and exits 2. */
final class UsageException extends Exception {

    private static final long serialVersionUID = 1L;

    /**
     * @param message what is wrong with the command line, for the user
     */
    UsageException(String message) {
        super(message);
    }
}
