package dev.guard.spring.boot;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The {@code guard.*} properties. Map values are nested value types so that the configuration processor emits
 * metadata for the inner keys too ({@code guard.configs.<name>.consecutive-failures}, ...).
 */
@ConfigurationProperties(prefix = "guard")
public class GuardProperties {

    /** Named breaker configurations, registered in the registry under their name. */
    private final Map<String, Config> configs = new LinkedHashMap<>();

    /** Breakers created at startup, by name. */
    private final Map<String, Breaker> breakers = new LinkedHashMap<>();

    /** Named breaker configurations. */
    public Map<String, Config> getConfigs() {
        return configs;
    }

    /** Breakers created at startup. */
    public Map<String, Breaker> getBreakers() {
        return breakers;
    }

    /** One breaker configuration; unset fields keep the preset's (or the library default's) value. */
    public static class Config {
        /** Preset to start from: defaults, database, message-broker, internal-api, external-api. */
        private String preset = "defaults";
        /** Consecutive failures that open the breaker. */
        private Integer consecutiveFailures;
        /** Failure rate (percent) that opens the breaker. */
        private Double failureRateThreshold;
        /** Calls observed before the failure rate is judged. */
        private Integer minimumCalls;
        /** How long the breaker stays OPEN before trying HALF_OPEN. */
        private Duration openWait;
        /** Calls let through in HALF_OPEN. */
        private Integer halfOpenMaxCalls;

        public String getPreset() { return preset; }
        public void setPreset(String preset) { this.preset = preset; }
        public Integer getConsecutiveFailures() { return consecutiveFailures; }
        public void setConsecutiveFailures(Integer v) { this.consecutiveFailures = v; }
        public Double getFailureRateThreshold() { return failureRateThreshold; }
        public void setFailureRateThreshold(Double v) { this.failureRateThreshold = v; }
        public Integer getMinimumCalls() { return minimumCalls; }
        public void setMinimumCalls(Integer v) { this.minimumCalls = v; }
        public Duration getOpenWait() { return openWait; }
        public void setOpenWait(Duration v) { this.openWait = v; }
        public Integer getHalfOpenMaxCalls() { return halfOpenMaxCalls; }
        public void setHalfOpenMaxCalls(Integer v) { this.halfOpenMaxCalls = v; }
    }

    /** One breaker created at startup. */
    public static class Breaker {
        /** Name of a {@code guard.configs} entry; the registry default when unset. */
        private String config;

        public String getConfig() { return config; }
        public void setConfig(String config) { this.config = config; }
    }
}
