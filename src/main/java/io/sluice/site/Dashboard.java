package io.sluice.site;

import io.sluice.api.ApiException;
import io.sluice.api.Exchange;
import io.sluice.api.Routes;
import org.eclipse.jetty.http.HttpHeader;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The web dashboard: a few static files shipped in the jar ({@value #RESOURCES}), served at {@value #PATH} and, unless
 * the application has its own static site ({@code server.staticDir}), at {@code /} too. Contract:
 * <ul>
 *   <li>Only the files in {@link #FILES} exist; any other name under {@value #PATH} is a JSON 404
 *       {@code not_found}. {@code /dashboard} redirects (301) to {@value #PATH}.</li>
 *   <li>Every response carries a strict {@value #CSP_HEADER} ({@link #CSP}: nothing but this origin, no inline
 *       script or style, no framing), {@code X-Content-Type-Options: nosniff} and {@code Referrer-Policy}.</li>
 *   <li>Files carry a strong {@code ETag} (a hash of their bytes) and {@code Cache-Control: no-cache}: browsers
 *       keep them but revalidate, so an upgraded server is never mixed with a stale script; {@code If-None-Match}
 *       answers 304.</li>
 *   <li>The files are read once, at start-up, and held in memory: a fixed few KiB, independent of any input.</li>
 * </ul>
 * The page itself holds no data and no secret; everything it shows comes from the API, which applies its own
 * authentication. {@code index.html} gets the tus endpoint ({@code tus.basePath}) written in at load time.
 */
public final class Dashboard {

    public static final String PATH = "/dashboard/";
    static final String RESOURCES = "io/sluice/dashboard/";
    static final List<String> FILES = List.of("index.html", "app.js", "files.js", "app.css", "favicon.svg",
            "jobs.js", "jobs.css");
    static final String CSP_HEADER = "Content-Security-Policy";
    /** Same origin only: the page talks to this server and nothing else, and runs no inline code. */
    public static final String CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
            + "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    static final String CACHE_CONTROL = "no-cache";
    /** Replaced in index.html by the (HTML-escaped) tus creation URL path. */
    static final String TUS_PLACEHOLDER = "{{tusBasePath}}";

    record Asset(String name, byte[] bytes, String contentType, String etag) {
    }

    private final Map<String, Asset> assets;

    private Dashboard(Map<String, Asset> assets) {
        this.assets = assets;
    }

    /**
     * Reads the dashboard's files from the class path.
     *
     * @param tusBasePath where tus uploads are created ({@code tus.basePath}, validated by the config loader)
     * @throws IOException when a file is missing from the jar (a broken build: refuse to start)
     */
    public static Dashboard load(String tusBasePath) throws IOException {
        Map<String, Asset> assets = new LinkedHashMap<>();
        for (String name : FILES) {
            byte[] bytes = read(name);
            if (name.equals("index.html")) {
                bytes = new String(bytes, StandardCharsets.UTF_8).replace(TUS_PLACEHOLDER, escape(tusBasePath))
                        .getBytes(StandardCharsets.UTF_8);
            }
            assets.put(name, new Asset(name, bytes, StaticSite.contentType(name), etag(bytes)));
        }
        return new Dashboard(Map.copyOf(assets));
    }

    /**
     * @param atRoot also answer {@code GET /}: false when {@code server.staticDir} is set, so that the
     *               application's site owns {@code /} (the router's fallback serves it)
     */
    public void register(Routes routes, boolean atRoot) {
        for (String method : List.of("GET", "HEAD")) {
            routes.add(method, "/dashboard", this::index);
            routes.add(method, PATH + "{file}", ex -> serve(ex, ex.param("file")));
            if (atRoot) {
                routes.add(method, "/", ex -> serve(ex, "index.html"));
            }
        }
    }

    /** {@code /dashboard} and {@code /dashboard/}: the router matches both to one pattern. */
    private void index(Exchange ex) throws IOException {
        String path = ex.request().getHttpURI().getPath();
        if (path == null || !path.endsWith("/")) {
            // Relative links and the browser's idea of "here" need the slash.
            security(ex);
            ex.response().getHeaders().put(HttpHeader.LOCATION, PATH);
            ex.empty(301);
            return;
        }
        serve(ex, "index.html");
    }

    private void serve(Exchange ex, String name) throws IOException {
        Asset a = assets.get(name);
        if (a == null) {
            throw ApiException.notFound("dashboard file " + (name.length() > 64 ? name.substring(0, 64) : name));
        }
        var headers = ex.response().getHeaders();
        security(ex);
        headers.put(HttpHeader.ETAG, a.etag());
        headers.put(HttpHeader.CACHE_CONTROL, CACHE_CONTROL);
        if (matches(ex.header(HttpHeader.IF_NONE_MATCH), a.etag())) {
            ex.empty(304);
            return;
        }
        ex.response().setStatus(200);
        headers.put(HttpHeader.CONTENT_TYPE, a.contentType());
        headers.put(HttpHeader.CONTENT_LENGTH, a.bytes().length);
        ex.write(true, "HEAD".equals(ex.method()) ? null : ByteBuffer.wrap(a.bytes()));
    }

    private static void security(Exchange ex) {
        var headers = ex.response().getHeaders();
        headers.put(CSP_HEADER, CSP);
        headers.put("X-Content-Type-Options", "nosniff");
        headers.put("Referrer-Policy", "no-referrer");
    }

    /** RFC 9110 13.1.2: weak comparison, a list, or {@code *}. */
    static boolean matches(String ifNoneMatch, String etag) {
        if (ifNoneMatch == null) {
            return false;
        }
        for (String candidate : ifNoneMatch.split(",")) {
            String c = candidate.strip();
            if (c.equals("*") || c.equals(etag) || c.equals("W/" + etag)) {
                return true;
            }
        }
        return false;
    }

    private static byte[] read(String name) throws IOException {
        try (InputStream in = Dashboard.class.getClassLoader().getResourceAsStream(RESOURCES + name)) {
            if (in == null) {
                throw new IOException("dashboard file " + RESOURCES + name + " is missing from the class path");
            }
            return in.readAllBytes();
        }
    }

    private static String etag(byte[] bytes) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(bytes);
            return "\"" + HexFormat.of().formatHex(digest, 0, 12) + "\"";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e); // every JDK has SHA-256
        }
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("\"", "&quot;").replace("<", "&lt;").replace(">", "&gt;")
                .replace("'", "&#39;");
    }
}
