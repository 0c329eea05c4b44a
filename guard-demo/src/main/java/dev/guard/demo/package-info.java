/**
 * The Messaging Guard outage demo: a small order service (a guarded Kafka producer, a consumer writing to PostgreSQL
 * through a guarded data source, circuit events, the health/metrics endpoint) whose broker and database are stopped
 * and restarted on a script while a live view shows what the breakers do. Start it with {@link dev.guard.demo.DemoMain}.
 */
package dev.guard.demo;
