package dev.guard.spring.boot;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

import javax.sql.DataSource;

import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.jdbc.GuardedDataSource;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.BeansException;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.BeanFactoryAware;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.beans.factory.config.DestructionAwareBeanPostProcessor;
import org.springframework.cglib.proxy.Callback;
import org.springframework.cglib.proxy.CallbackFilter;
import org.springframework.cglib.proxy.Dispatcher;
import org.springframework.cglib.proxy.Enhancer;
import org.springframework.cglib.proxy.Factory;
import org.springframework.cglib.proxy.MethodInterceptor;
import org.springframework.objenesis.SpringObjenesis;

/**
 * Guards every {@link DataSource} bean with a {@link GuardedDataSource} named after the bean (breaker
 * {@code jdbc:<bean name>}), configured by {@code guard.jdbc.datasources.<bean name>.*}, opt-out per bean.
 *
 * <p>Design note: the guard sits <em>above</em> the pool, and the bean keeps its own type. The exposed bean is a
 * generated subclass of the pool's class (HikariDataSource stays injectable as HikariDataSource, its MXBeans, config
 * getters and {@code close()} reach the real pool) whose {@code getConnection}, {@code createConnectionBuilder},
 * {@code unwrap} and {@code isWrapperFor} call the {@link GuardedDataSource} and every other method is dispatched to
 * the pool; {@code getConnection()} adds one direct call, no allocation and no lock, to the guard's. Guarding at the driver level under the pool
 * ({@code HikariConfig.setDataSource}) would be unsafe: while the database is down the pool would still make callers
 * wait its connection timeout, would hand out idle connections without asking the breaker, and the outcomes of its
 * long-lived connections would be judged in the period that created them, long gone. Exposing both a raw and a guarded
 * bean would let type-based injection ({@code HikariDataSource}, Boot's pool metadata) silently pick the unguarded one.
 * With an active probe ({@code guard.jdbc.datasources.<bean>.active-probe-interval}) an unstarted HikariCP pool gets
 * the guard on both sides ({@link GuardedDataSource.Builder#pooledBy}): the pool connects through the guard's
 * driver-level data source, so its own failed connection attempts are recorded at once and callers waiting in the
 * pool are let go when the breaker opens; requests still go through the guard above the pool.
 * A bean whose class cannot be subclassed (final, or with a final public method) is exposed as the
 * {@link GuardedDataSource} itself (logged once); its delegate is closed with the context all the same.
 */
final class GuardDataSourcePostProcessor implements DestructionAwareBeanPostProcessor, BeanFactoryAware,
        SmartInitializingSingleton {

    private static final Logger LOG = LoggerFactory.getLogger(GuardDataSourcePostProcessor.class);
    private static final SpringObjenesis OBJENESIS = new SpringObjenesis();

    private final ObjectProvider<BreakerRegistry> registry;
    private final GuardProperties.Jdbc jdbc;
    /** The guard of each guarded bean, by bean name: closed (its probe) when the bean is destroyed. */
    private final Map<String, GuardedDataSource> guards = new ConcurrentHashMap<>();
    private ListableBeanFactory beanFactory;

    GuardDataSourcePostProcessor(ObjectProvider<BreakerRegistry> registry, GuardProperties.Jdbc jdbc) {
        jdbc.getDatasources().forEach(GuardDataSourcePostProcessor::validate);
        this.registry = registry;
        this.jdbc = jdbc;
    }

    @Override
    public void setBeanFactory(BeanFactory beanFactory) {
        this.beanFactory = beanFactory instanceof ListableBeanFactory l ? l : null;
    }

    @Override
    public Object postProcessAfterInitialization(Object bean, String beanName) throws BeansException {
        if (!(bean instanceof DataSource target) || bean instanceof GuardedDataSource) {
            return bean;
        }
        GuardProperties.DataSourceGuard settings = jdbc.getDatasources().get(beanName);
        if (settings != null && !settings.isEnabled()) {
            LOG.info("DataSource '{}' not guarded (guard.jdbc.datasources.{}.enabled=false)", beanName, beanName);
            return bean;
        }
        GuardedDataSource guard = guard(target, beanName, settings == null ? new GuardProperties.DataSourceGuard()
                : settings);
        guards.put(beanName, guard);
        Object exposed = subclassable(target.getClass()) ? dispatching(target, guard) : guard;
        LOG.info("DataSource '{}' ({}) guarded by circuit '{}'{}", beanName, target.getClass().getName(),
                guard.breaker().name(), exposed == guard ? ", exposed as GuardedDataSource (its class is final)" : "");
        return exposed;
    }

    private GuardedDataSource guard(DataSource target, String beanName, GuardProperties.DataSourceGuard s) {
        String prefix = "guard.jdbc.datasources." + beanName;
        BreakerRegistry breakers = registry.getObject();
        // with an active probe, an unstarted HikariCP pool gets the guard on both of its sides (pooledBy): the pool's
        // own connection attempts are recorded and callers waiting in it are let go when the breaker opens
        DataSource driver = s.getActiveProbeInterval() != null && HikariPools.PRESENT
                ? HikariPools.driverLevel(target) : null;
        GuardedDataSource.Builder b = driver == null ? GuardedDataSource.builder(target)
                : GuardedDataSource.builder(driver).pooledBy(d -> HikariPools.poolOn(target, d));
        b.name(beanName).registry(breakers).poolSaturationIsFailure(s.isPoolSaturationIsFailure());
        if (s.getConfig() != null) {
            BreakerConfig config = breakers.config(s.getConfig()).orElseThrow(() -> new IllegalArgumentException(
                    prefix + ".config: no guard.configs entry named '" + s.getConfig() + "'"));
            b.breakerConfig(config);
        }
        if (s.getActiveProbeInterval() != null) {
            b.activeProbe(s.getActiveProbeInterval(), s.getActiveProbeTimeout());
        }
        return b.build();
    }

    /** What can be checked before any bean exists: durations. */
    private static void validate(String beanName, GuardProperties.DataSourceGuard s) {
        String prefix = "guard.jdbc.datasources." + beanName;
        if (s.getActiveProbeInterval() != null && (s.getActiveProbeInterval().isNegative() || s.getActiveProbeInterval().isZero())) {
            throw new IllegalArgumentException(prefix + ".active-probe-interval: must be positive, was "
                    + s.getActiveProbeInterval());
        }
        if (s.getActiveProbeTimeout() == null || s.getActiveProbeTimeout().isNegative() || s.getActiveProbeTimeout().isZero()) {
            throw new IllegalArgumentException(prefix + ".active-probe-timeout: must be positive, was "
                    + s.getActiveProbeTimeout());
        }
    }

    /** A {@code guard.jdbc.datasources} key that names no DataSource bean is a typo: startup fails naming it. */
    @Override
    public void afterSingletonsInstantiated() {
        if (beanFactory == null) {
            return;
        }
        TreeSet<String> known = new TreeSet<>(java.util.Arrays.asList(
                beanFactory.getBeanNamesForType(DataSource.class, true, false)));
        for (String name : jdbc.getDatasources().keySet()) {
            if (!known.contains(name)) {
                throw new IllegalArgumentException("guard.jdbc.datasources." + name + ": no DataSource bean named '"
                        + name + "' (DataSource beans: " + known + ")");
            }
        }
    }

    @Override
    public boolean requiresDestruction(Object bean) {
        return bean instanceof DataSource;
    }

    /** Stops the guard's probe; a pool exposed as the GuardedDataSource itself is closed here, as its bean would be. */
    @Override
    public void postProcessBeforeDestruction(Object bean, String beanName) {
        GuardedDataSource guard = guards.remove(beanName);
        if (guard == null) {
            return;
        }
        guard.close();
        if (bean == guard && guard.delegate() instanceof AutoCloseable closeable) {
            try {
                closeable.close();
            } catch (Exception e) {
                LOG.warn("Closing DataSource '{}' failed", beanName, e);
            }
        }
    }

    /** HikariCP, when it is on the class path: referenced only after {@link #PRESENT} said so. */
    static final class HikariPools {
        static final boolean PRESENT = org.springframework.util.ClassUtils.isPresent(
                "com.zaxxer.hikari.HikariDataSource", GuardDataSourcePostProcessor.class.getClassLoader());

        private HikariPools() {
        }

        /**
         * The driver-level data source an unstarted HikariCP pool would connect with, or {@code null}: not a Hikari
         * pool, already started, or configured by {@code dataSourceClassName} (built by Hikari at start).
         */
        static DataSource driverLevel(DataSource ds) {
            if (!(ds instanceof com.zaxxer.hikari.HikariDataSource h) || h.isRunning() || h.isClosed()) {
                return null;
            }
            if (h.getDataSource() != null) {
                return h.getDataSource();
            }
            if (h.getJdbcUrl() == null) {
                return null;
            }
            return new com.zaxxer.hikari.util.DriverDataSource(h.getJdbcUrl(), h.getDriverClassName(),
                    h.getDataSourceProperties(), h.getUsername(), h.getPassword());
        }

        /** The same pool, now connecting through the guard's driver side; it starts at its first checkout. */
        static DataSource poolOn(DataSource pool, DataSource guardedDriver) {
            ((com.zaxxer.hikari.HikariDataSource) pool).setDataSource(guardedDriver);
            return pool;
        }
    }

    static boolean subclassable(Class<?> type) {
        if (Modifier.isFinal(type.getModifiers()) || !Modifier.isPublic(type.getModifiers())) {
            return false;
        }
        for (Method m : type.getMethods()) {
            if (Modifier.isFinal(m.getModifiers()) && m.getDeclaringClass() != Object.class) {
                return false;
            }
        }
        return true;
    }

    /**
     * The bean's class, generated: the guarded entry points call {@code guard}, everything else is dispatched to
     * {@code target}. (A CGLIB Dispatcher casts to the method's declaring class, the pool's, so the guarded methods
     * are interceptors; the no-argument {@code getConnection()} gets CGLIB's shared empty argument array.)
     */
    static DataSource dispatching(DataSource target, GuardedDataSource guard) {
        Enhancer enhancer = new Enhancer();
        enhancer.setSuperclass(target.getClass());
        enhancer.setClassLoader(target.getClass().getClassLoader());
        enhancer.setUseCache(false);
        enhancer.setCallbackFilter(GUARDED_METHODS);
        enhancer.setCallbackTypes(new Class<?>[] {Dispatcher.class, MethodInterceptor.class, MethodInterceptor.class,
                MethodInterceptor.class, MethodInterceptor.class, MethodInterceptor.class});
        Class<?> type = enhancer.createClass();
        Object proxy = OBJENESIS.newInstance(type, false);
        Dispatcher toTarget = () -> target;
        MethodInterceptor getConnection = (obj, method, args, superMethod) -> guard.getConnection();
        MethodInterceptor getConnectionAs = (obj, method, args, superMethod) ->
                guard.getConnection((String) args[0], (String) args[1]);
        MethodInterceptor connectionBuilder = (obj, method, args, superMethod) -> guard.createConnectionBuilder();
        MethodInterceptor unwrap = (obj, method, args, superMethod) -> guard.unwrap((Class<?>) args[0]);
        MethodInterceptor isWrapperFor = (obj, method, args, superMethod) -> guard.isWrapperFor((Class<?>) args[0]);
        ((Factory) proxy).setCallbacks(new Callback[] {toTarget, getConnection, getConnectionAs, connectionBuilder,
                unwrap, isWrapperFor});
        return (DataSource) proxy;
    }

    /** The callback of each method: 0 (the pool) but for the guarded entry points of {@link #dispatching}. */
    private static final CallbackFilter GUARDED_METHODS = method -> {
        int params = method.getParameterCount();
        switch (method.getName()) {
            case "getConnection":
                if (method.getReturnType() != java.sql.Connection.class) {
                    return 0;
                }
                return params == 0 ? 1 : params == 2 ? 2 : 0;
            case "createConnectionBuilder":
                return params == 0 ? 3 : 0;
            case "unwrap":
                return params == 1 && method.getParameterTypes()[0] == Class.class ? 4 : 0;
            case "isWrapperFor":
                return params == 1 && method.getParameterTypes()[0] == Class.class ? 5 : 0;
            default:
                return 0;
        }
    };
}
