/**
 * Real servers that tests can break on purpose, without a Docker engine.
 *
 * <ul>
 *   <li>{@link dev.guard.testkit.KafkaBrokers} starts a {@link dev.guard.testkit.KafkaBroker}: a single-node KRaft
 *       Kafka broker in the test JVM (or a Testcontainers broker when selected and a Docker engine is present) that
 *       can be stopped, killed and restarted on the same port with the same data.</li>
 *   <li>{@link dev.guard.testkit.PostgresServer} runs a real PostgreSQL server that can be stopped and restarted on
 *       the same port with the same data.</li>
 *   <li>{@link dev.guard.testkit.ToxicProxy} sits between a client and either server and cuts, refuses or silently
 *       holds connections.</li>
 * </ul>
 *
 * <p>Every server listens on an ephemeral loopback port and keeps its files in a fresh temporary directory that is
 * deleted on close, so parallel builds on one machine do not clash.
 */
package dev.guard.testkit;
