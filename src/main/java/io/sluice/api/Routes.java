package io.sluice.api;

/**
 * Where a protocol registers its endpoints. Patterns are literal paths with {@code {name}} segments, each
 * matching one URL-decoded path segment.
 */
public interface Routes {
    void add(String method, String pattern, Route route);
}
