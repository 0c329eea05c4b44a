package dev.guard.core.internal;

import java.time.Duration;

/**
 * The project's one argument check (internal: not API, exported only to the project's own modules), with one
 * policy everywhere: a missing argument is a {@link NullPointerException} ({@code "<name> must not be null"}, as
 * {@link java.util.Objects#requireNonNull(Object, String)} gives), a present but unacceptable one an
 * {@link IllegalArgumentException} whose message names the parameter and quotes the value it was given
 * ({@code "<name> must be positive, was PT0S"}). Each check returns its argument, so a builder assigns and checks
 * in one statement. Config-time only: nothing here is on a hot path.
 */
public final class Args {

    private Args() {
    }

    /** {@code value}, or NPE {@code "<name> must not be null"}. */
    public static <T> T notNull(T value, String name) {
        if (value == null) {
            throw new NullPointerException(name + " must not be null");
        }
        return value;
    }

    /** {@code value} if it has a non-whitespace character; NPE if null, IAE if blank. */
    public static String notBlank(String value, String name) {
        if (notNull(value, name).isBlank()) {
            throw new IllegalArgumentException(name + " must not be blank, was '" + value + "'");
        }
        return value;
    }

    /** {@code value} if it is {@code > 0}. */
    public static long positive(long value, String name) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be positive, was " + value);
        }
        return value;
    }

    /** {@code value} if it is {@code > 0}. */
    public static int positive(int value, String name) {
        return (int) positive((long) value, name);
    }

    /** {@code value} if it is {@code >= 0}. */
    public static long notNegative(long value, String name) {
        if (value < 0) {
            throw new IllegalArgumentException(name + " must not be negative, was " + value);
        }
        return value;
    }

    /** {@code value} if it is {@code >= 0}. */
    public static int notNegative(int value, String name) {
        return (int) notNegative((long) value, name);
    }

    /** {@code value} if it is {@code >= min}. */
    public static long atLeast(long value, long min, String name) {
        if (value < min) {
            throw new IllegalArgumentException(name + " must be >= " + min + ", was " + value);
        }
        return value;
    }

    /** {@code value} if it is {@code >= min}. */
    public static int atLeast(int value, int min, String name) {
        return (int) atLeast((long) value, min, name);
    }

    /** {@code value} if it is within {@code [min, max]}. */
    public static long within(long value, long min, long max, String name) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(name + " must be within [" + min + ", " + max + "], was " + value);
        }
        return value;
    }

    /** {@code value} if it is within {@code [min, max]}. */
    public static int within(int value, int min, int max, String name) {
        return (int) within((long) value, min, max, name);
    }

    /** {@code value} if it is within {@code [min, max]} (so never NaN). */
    public static double within(double value, double min, double max, String name) {
        if (!(value >= min && value <= max)) {
            throw new IllegalArgumentException(name + " must be within [" + min + ", " + max + "], was " + value);
        }
        return value;
    }

    /** {@code value} if it is longer than zero; NPE if null. */
    public static Duration positive(Duration value, String name) {
        if (notNull(value, name).isNegative() || value.isZero()) {
            throw new IllegalArgumentException(name + " must be positive, was " + value);
        }
        return value;
    }

    /** {@code value} if it is zero or longer; NPE if null. */
    public static Duration notNegative(Duration value, String name) {
        if (notNull(value, name).isNegative()) {
            throw new IllegalArgumentException(name + " must not be negative, was " + value);
        }
        return value;
    }
}
