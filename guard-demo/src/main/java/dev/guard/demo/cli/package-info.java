/**
 * The {@code guard} operator CLI: {@code guard watch} tails the circuit-events topic of any cluster and shows a live
 * fleet table and a transition log. Packaged as {@code guard-demo/target/guard.jar}.
 */
package dev.guard.demo.cli;
