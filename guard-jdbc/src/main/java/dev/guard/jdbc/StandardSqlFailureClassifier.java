package dev.guard.jdbc;

import dev.guard.core.internal.Args;
import dev.guard.jdbc.SqlFailureClassifier.Outcome;

import java.io.EOFException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTimeoutException;
import java.sql.SQLTransientConnectionException;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeoutException;

/**
 * The standard {@link SqlFailureClassifier}, documented there. Stateless; allocates only when an exception chain is
 * longer than one (the cycle guard).
 */
final class StandardSqlFailureClassifier implements SqlFailureClassifier {

    static final StandardSqlFailureClassifier DEFAULT = new StandardSqlFailureClassifier(Map.of());

    /** Exceptions looked at per classification, a bound against pathological chains. */
    private static final int MAX_CHAIN = 32;

    private final Map<String, Outcome> overrides;

    private StandardSqlFailureClassifier(Map<String, Outcome> overrides) {
        this.overrides = overrides;
    }

    static StandardSqlFailureClassifier withOverrides(Map<String, Outcome> overrides) {
        Args.notNull(overrides, "overrides");
        Map<String, Outcome> copy = new HashMap<>();
        Map<String, String> keyOf = new HashMap<>();
        for (Map.Entry<String, Outcome> e : overrides.entrySet()) {
            String key = e.getKey();
            if (key == null || (key.length() != 2 && key.length() != 5) || !key.chars().allMatch(Character::isLetterOrDigit)) {
                throw new IllegalArgumentException("override key must be a SQLState (5 letters or digits) or a "
                        + "SQLState class (2), was '" + key + "'");
            }
            Args.notNull(e.getValue(), "override for SQLState '" + key + "'");
            String upper = key.toUpperCase(Locale.ROOT);
            String other = keyOf.putIfAbsent(upper, key);
            if (other != null) {
                String[] both = other.compareTo(key) < 0 ? new String[] {other, key} : new String[] {key, other};
                throw new IllegalArgumentException("override keys '" + both[0] + "' and '" + both[1]
                        + "' name the same SQLState (keys are case-insensitive); keep one");
            }
            copy.put(upper, e.getValue());
        }
        return new StandardSqlFailureClassifier(Map.copyOf(copy));
    }

    @Override
    public Outcome classify(Throwable error) {
        Outcome o = verdictOf(error);
        return o == null ? Outcome.NOT_A_FAILURE : o;
    }

    /**
     * The strongest verdict in {@code error}'s chain, or {@code null} if nothing in it has one. {@link #classify}
     * reads {@code null} as NOT_A_FAILURE (a statement the database answered); an acquisition reads it as a failure
     * (no connection, and nothing says the caller is at fault).
     */
    Outcome verdictOf(Throwable error) {
        Args.notNull(error, "error");
        Outcome first = verdict(error);
        Throwable cause = error.getCause();
        SQLException next = error instanceof SQLException ? ((SQLException) error).getNextException() : null;
        if ((cause == null || cause == error) && next == null) {
            return first; // the common case: a single exception
        }
        Outcome best = first;
        Map<Throwable, Boolean> seen = new IdentityHashMap<>();
        seen.put(error, Boolean.TRUE);
        ArrayDeque<Throwable> todo = new ArrayDeque<>();
        push(todo, seen, cause);
        push(todo, seen, next);
        int looked = 1;
        while (!todo.isEmpty() && looked < MAX_CHAIN && best != Outcome.FAILURE) {
            Throwable t = todo.poll();
            looked++;
            best = stronger(best, verdict(t));
            push(todo, seen, t.getCause());
            if (t instanceof SQLException) {
                push(todo, seen, ((SQLException) t).getNextException());
            }
        }
        return best;
    }

    private static void push(ArrayDeque<Throwable> todo, Map<Throwable, Boolean> seen, Throwable t) {
        if (t != null && seen.put(t, Boolean.TRUE) == null) {
            todo.add(t);
        }
    }

    /** FAILURE beats SLOW beats REPORT_ONLY beats NOT_A_FAILURE beats no verdict ({@code null}). */
    private static Outcome stronger(Outcome a, Outcome b) {
        if (a == null) {
            return b;
        }
        if (b == null) {
            return a;
        }
        return rank(b) > rank(a) ? b : a;
    }

    private static int rank(Outcome o) {
        switch (o) {
            case FAILURE:
                return 3;
            case SLOW:
                return 2;
            case REPORT_ONLY:
                return 1;
            default:
                return 0;
        }
    }

    /** The verdict on one throwable alone, or {@code null} for none. */
    private Outcome verdict(Throwable t) {
        if (t instanceof SQLException) {
            Outcome bySqlState = bySqlState(((SQLException) t).getSQLState());
            if (bySqlState != null) {
                return bySqlState;
            }
            if (t instanceof SQLTransientConnectionException || t instanceof SQLNonTransientConnectionException
                    || t instanceof SQLRecoverableException) {
                return Outcome.FAILURE;
            }
            if (t instanceof SQLTimeoutException) {
                return Outcome.SLOW;
            }
            if (t instanceof SQLFeatureNotSupportedException) { // HikariCP's getConnection(user, password): no SQLState
                return Outcome.NOT_A_FAILURE;
            }
            return null;
        }
        if (t instanceof IllegalArgumentException) { // a bad argument: the caller's error
            return Outcome.NOT_A_FAILURE;
        }
        if (t instanceof SocketException || t instanceof SocketTimeoutException || t instanceof UnknownHostException
                || t instanceof EOFException || t instanceof TimeoutException) {
            return Outcome.FAILURE;
        }
        return null;
    }

    private Outcome bySqlState(String state) {
        if (state == null || state.length() < 2) {
            return null;
        }
        if (!overrides.isEmpty()) {
            Outcome o = overrides.get(state);
            if (o == null) {
                o = overrides.get(state.substring(0, 2));
            }
            if (o != null) {
                return o;
            }
        }
        char c0 = state.charAt(0);
        char c1 = state.charAt(1);
        if (c0 == '0' && c1 == '8') {
            return Outcome.FAILURE;
        }
        if (c0 == '5' && (c1 == '3' || c1 == '8')) {
            return Outcome.FAILURE;
        }
        if (c0 == '5' && c1 == '7') {
            if (state.equals("57P01") || state.equals("57P02") || state.equals("57P03")) {
                return Outcome.FAILURE;
            }
            if (state.equals("57014")) {
                return Outcome.SLOW;
            }
            return null;
        }
        if (c0 == '2' && c1 == '8') {
            return Outcome.REPORT_ONLY;
        }
        if ((c0 == '2' && (c1 == '2' || c1 == '3')) || (c0 == '4' && c1 == '2') || (c0 == '0' && c1 == 'A')) {
            return Outcome.NOT_A_FAILURE;
        }
        if (state.equals("40001") || state.equals("40P01")) {
            return Outcome.NOT_A_FAILURE;
        }
        return null;
    }
}
