package dev.guard.spring.boot;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
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

    /** Guarded Kafka producers. */
    private final Kafka kafka = new Kafka();

    /** Guarded DataSource beans. */
    private final Jdbc jdbc = new Jdbc();

    /** The circuits health contributor. */
    private final Health health = new Health();

    /** Circuit events published to Kafka. */
    private final Events events = new Events();

    /** Circuit events published to Kafka. */
    public Events getEvents() {
        return events;
    }

    /** The circuits health contributor. */
    public Health getHealth() {
        return health;
    }

    /** Guarded DataSource beans. */
    public Jdbc getJdbc() {
        return jdbc;
    }

    /** Guarded Kafka producers. */
    public Kafka getKafka() {
        return kafka;
    }

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

    /** {@code guard.kafka.*}: every {@code DefaultKafkaProducerFactory} bean makes guarded producers. */
    public static class Kafka {
        /** Whether producers of DefaultKafkaProducerFactory beans are wrapped in GuardedProducer. */
        private boolean enabled = true;
        /** Whether the guard's safer producer defaults apply where the factory's configuration is silent. */
        private boolean saferDefaults = true;
        /** A send unacknowledged for this long counts as failed while still pending. */
        private Duration ackTimeout = Duration.ofSeconds(1);
        /** Policy of topics that neither guard.kafka.topics nor guard.kafka.patterns names. */
        private final Topic defaults = new Topic();
        /** Policies by topic name. */
        private final Map<String, Topic> topics = new LinkedHashMap<>();
        /** Policies for topics whose whole name matches a regular expression, tried in order. */
        private final List<Pattern> patterns = new ArrayList<>();
        /** @KafkaListener containers bound to breakers, by listener id. */
        private final Map<String, Listener> listeners = new LinkedHashMap<>();

        public boolean isEnabled() { return enabled; }
        public void setEnabled(boolean enabled) { this.enabled = enabled; }
        public boolean isSaferDefaults() { return saferDefaults; }
        public void setSaferDefaults(boolean saferDefaults) { this.saferDefaults = saferDefaults; }
        public Duration getAckTimeout() { return ackTimeout; }
        public void setAckTimeout(Duration ackTimeout) { this.ackTimeout = ackTimeout; }
        public Topic getDefaults() { return defaults; }
        public Map<String, Topic> getTopics() { return topics; }
        public List<Pattern> getPatterns() { return patterns; }
        public Map<String, Listener> getListeners() { return listeners; }
    }

    /** The policy of a topic: unset fields keep GuardedProducer's defaults. */
    public static class Topic {
        /** buffer or reject; a transactional factory defaults to reject and refuses buffer. */
        private String policy;
        /** BUFFER: records held at most while the circuit is open. */
        private Integer maxRecords;
        /** BUFFER: bytes held at most while the circuit is open. */
        private Long maxBytes;
        /** BUFFER: a buffered record older than this fails with BufferExpiredException. */
        private Duration bufferTimeout;
        /** Name of a guard.configs entry for this topic's breaker. */
        private String config;

        public String getPolicy() { return policy; }
        public void setPolicy(String policy) { this.policy = policy; }
        public Integer getMaxRecords() { return maxRecords; }
        public void setMaxRecords(Integer maxRecords) { this.maxRecords = maxRecords; }
        public Long getMaxBytes() { return maxBytes; }
        public void setMaxBytes(Long maxBytes) { this.maxBytes = maxBytes; }
        public Duration getBufferTimeout() { return bufferTimeout; }
        public void setBufferTimeout(Duration bufferTimeout) { this.bufferTimeout = bufferTimeout; }
        public String getConfig() { return config; }
        public void setConfig(String config) { this.config = config; }
    }

    /** A topic policy for every topic whose whole name matches {@link #getPattern() pattern}. */
    public static class Pattern extends Topic {
        /** Regular expression the whole topic name must match. */
        private String pattern;

        public String getPattern() { return pattern; }
        public void setPattern(String pattern) { this.pattern = pattern; }
    }

    /** {@code guard.jdbc.*}: every {@code DataSource} bean is guarded by a breaker {@code jdbc:<bean name>}. */
    public static class Jdbc {
        /** Whether DataSource beans are guarded. */
        private boolean enabled = true;
        /** Per DataSource bean, by bean name. */
        private final Map<String, DataSourceGuard> datasources = new LinkedHashMap<>();

        public boolean isEnabled() { return enabled; }
        public void setEnabled(boolean enabled) { this.enabled = enabled; }
        public Map<String, DataSourceGuard> getDatasources() { return datasources; }
    }

    /** The guard of one DataSource bean; unset fields keep GuardedDataSource's defaults. */
    public static class DataSourceGuard {
        /** Whether this DataSource bean is guarded (opt-out per bean). */
        private boolean enabled = true;
        /** Name of a guard.configs entry for this data source's breaker; BreakerConfig.database() when unset. */
        private String config;
        /** Whether a saturated pool (checkout timeout with the database healthy) counts as a failure. */
        private boolean poolSaturationIsFailure;
        /** Active probe: time between checks of the database while the breaker is open; no probe when unset. */
        private Duration activeProbeInterval;
        /** Active probe: the Connection.isValid timeout. */
        private Duration activeProbeTimeout = Duration.ofSeconds(2);

        public boolean isEnabled() { return enabled; }
        public void setEnabled(boolean enabled) { this.enabled = enabled; }
        public String getConfig() { return config; }
        public void setConfig(String config) { this.config = config; }
        public boolean isPoolSaturationIsFailure() { return poolSaturationIsFailure; }
        public void setPoolSaturationIsFailure(boolean v) { this.poolSaturationIsFailure = v; }
        public Duration getActiveProbeInterval() { return activeProbeInterval; }
        public void setActiveProbeInterval(Duration v) { this.activeProbeInterval = v; }
        public Duration getActiveProbeTimeout() { return activeProbeTimeout; }
        public void setActiveProbeTimeout(Duration v) { this.activeProbeTimeout = v; }
    }

    /** {@code guard.health.*}: the {@code circuits} health contributor. */
    public static class Health {
        /** Status while a circuit not listed in optional is open: down or out-of-service. */
        private String openStatus = "down";
        /** Breakers (e.g. kafka:audit) whose opening is shown in the details but does not change the status. */
        private List<String> optional = new ArrayList<>();

        public String getOpenStatus() { return openStatus; }
        public void setOpenStatus(String openStatus) { this.openStatus = openStatus; }
        public List<String> getOptional() { return optional; }
        public void setOptional(List<String> optional) { this.optional = optional; }
    }

    /** A @KafkaListener container bound to breakers: paused while any of them is open. */
    public static class Listener {
        /** Breaker names, e.g. jdbc:dataSource or kafka:orders; the container is paused while any is open. */
        private List<String> breakers = new ArrayList<>();

        public List<String> getBreakers() { return breakers; }
        public void setBreakers(List<String> breakers) { this.breakers = breakers; }
    }

    /** {@code guard.events.*}: every breaker transition published to Kafka as a CloudEvent (CircuitEventPublisher). */
    public static class Events {
        /** Whether a CircuitEventPublisher is started, on Boot's spring.kafka connection properties. */
        private boolean enabled;
        /** The events topic. */
        private String topic = "guard.circuit-events";
        /** The service name in the events' source; spring.application.name when unset. */
        private String service;
        /** Whether the publisher creates the topic (compacted) if it does not exist. */
        private boolean createTopic = true;

        public boolean isEnabled() { return enabled; }
        public void setEnabled(boolean enabled) { this.enabled = enabled; }
        public String getTopic() { return topic; }
        public void setTopic(String topic) { this.topic = topic; }
        public String getService() { return service; }
        public void setService(String service) { this.service = service; }
        public boolean isCreateTopic() { return createTopic; }
        public void setCreateTopic(boolean createTopic) { this.createTopic = createTopic; }
    }
}
