/**
 * Messaging Guard's Spring Boot auto-configuration: the {@code guard.*} properties ({@code GuardProperties}), the
 * {@code BreakerRegistry} bean, guarded {@code KafkaTemplate} producers and {@code DataSource} beans, listener
 * containers bound to breakers, Micrometer binding, and the actuator's {@code circuits} health contributor and
 * endpoint ({@code CircuitsEndpoint}).
 *
 * <p>Its one package is exported: the auto-configuration classes are what an application names to exclude or
 * import them, {@code GuardProperties} is injectable and {@code CircuitsEndpoint} is a public bean type. guard-core
 * is read transitively ({@code CircuitsEndpoint} is built on a {@code BreakerRegistry}); guard-kafka and guard-jdbc
 * are mandatory dependencies of the starter, and kafka-clients and {@code java.sql} are read through them.
 *
 * <p>The Spring modules named here are the jars' {@code Automatic-Module-Name}s. spring-boot,
 * spring-boot-autoconfigure, spring-context, spring-beans and spring-core are always needed; everything an
 * auto-configuration switches on by {@code @ConditionalOnClass} is {@code requires static}: Spring Kafka and Boot's
 * Kafka support, HikariCP, Boot's health and actuator modules and Micrometer. The package is open to the Spring modules that reflect on it (they
 * call the package-private {@code @Bean} methods and constructors, and bind {@code GuardProperties}), and to no one
 * else.
 */
module dev.guard.spring.boot {
    requires transitive dev.guard.core;
    requires dev.guard.kafka;
    requires dev.guard.jdbc;
    requires org.slf4j;

    requires spring.boot;
    requires spring.boot.autoconfigure;
    requires spring.context;
    requires spring.beans;
    requires spring.core;

    requires static spring.kafka;
    requires static spring.boot.kafka;
    requires static com.zaxxer.hikari;
    requires static spring.boot.health;
    requires static spring.boot.actuator;
    requires static spring.boot.actuator.autoconfigure;
    requires static micrometer.core;

    exports dev.guard.spring.boot;

    opens dev.guard.spring.boot to spring.core, spring.beans, spring.context, spring.boot;
}
