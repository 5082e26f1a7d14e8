package io.sluice.processors;

import java.util.Collections;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The processors on the class path, found with {@link ServiceLoader} under
 * {@code META-INF/services/io.sluice.processors.Processor} (built-ins and third-party jars alike).
 */
public final class Processors {

    /** What {@link Processor#name()} must look like; the same shape as a pipeline name. */
    public static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,63}");

    private Processors() {
    }

    /**
     * Every processor by name, sorted by name. Each call loads fresh instances.
     *
     * @throws IllegalStateException when a provider cannot be loaded, has a malformed name, or two providers share
     *                               a name (which of them a pipeline gets must never depend on class-path order)
     */
    public static Map<String, Processor> available() {
        Map<String, Processor> byName = new TreeMap<>();
        try {
            for (Processor p : ServiceLoader.load(Processor.class, Processors.class.getClassLoader())) {
                String name = p.name();
                if (name == null || !NAME.matcher(name).matches()) {
                    throw new IllegalStateException("processor " + p.getClass().getName() + " has an invalid name '"
                            + name + "' (lower-case letters, digits and '-')");
                }
                Processor earlier = byName.putIfAbsent(name, p);
                if (earlier != null) {
                    throw new IllegalStateException("two processors are named '" + name + "': "
                            + earlier.getClass().getName() + " and " + p.getClass().getName());
                }
            }
        } catch (ServiceConfigurationError e) {
            throw new IllegalStateException("a processor could not be loaded: " + e.getMessage(), e);
        }
        return Collections.unmodifiableMap(byName);
    }
}
