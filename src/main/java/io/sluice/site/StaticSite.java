package io.sluice.site;

import io.sluice.api.ApiException;
import io.sluice.api.Exchange;
import io.sluice.api.Route;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.MimeTypes;
import org.eclipse.jetty.util.URIUtil;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Serves a directory of static files (a landing page) as the router's GET/HEAD fallback, so it never shadows an
 * endpoint. Contract:
 * <ul>
 *   <li>A path maps to a file under the root only: segments {@code .}, {@code ..}, empty or dot-files (such as
 *       {@code .git}), and anything resolving (symlinks included) outside the root, are 404.</li>
 *   <li>A directory serves its {@code index.html}; without a trailing slash it redirects (301) to one, so that
 *       relative links work. There are no listings.</li>
 *   <li>Every file carries {@code ETag}, {@code Last-Modified} and {@code Cache-Control}: HTML revalidates after
 *       {@value #HTML_MAX_AGE} s, assets with a content hash in their name are immutable for a year, other assets
 *       keep for {@value #ASSET_MAX_AGE} s. {@code If-None-Match} / {@code If-Modified-Since} answer 304.</li>
 * </ul>
 */
public final class StaticSite implements Route {

    static final long HTML_MAX_AGE = 300;
    static final long ASSET_MAX_AGE = 3600;
    static final long HASHED_MAX_AGE = 365L * 24 * 3600;
    private static final int CHUNK = 64 * 1024;
    /** {@code app.3f9a1c2b.js}, {@code logo-5d41402abc4b.png}: a build tool's content hash. */
    private static final Pattern HASHED = Pattern.compile(".*[.-][0-9a-fA-F]{8,}\\.[A-Za-z0-9]+");
    private static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.RFC_1123_DATE_TIME;

    private final Path root;
    private final Path realRoot;

    /** @param root an existing directory (checked by the config loader) */
    public StaticSite(Path root) throws IOException {
        this.root = root.toAbsolutePath().normalize();
        this.realRoot = this.root.toRealPath();
    }

    @Override
    public void handle(Exchange ex) throws Exception {
        String path = ex.request().getHttpURI().getCanonicalPath();
        Path file = resolve(path == null ? "/" : path);
        if (file == null) {
            throw ApiException.notFound("path " + path);
        }
        if (Files.isDirectory(file)) {
            if (!path.endsWith("/")) {
                ex.response().getHeaders().put(HttpHeader.LOCATION, path + "/");
                ex.empty(301);
                return;
            }
            file = file.resolve("index.html");
        }
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(file, BasicFileAttributes.class);
        } catch (IOException e) {
            throw ApiException.notFound("path " + path);
        }
        if (!attrs.isRegularFile() || !file.toRealPath().startsWith(realRoot)) {
            throw ApiException.notFound("path " + path);
        }
        serve(ex, file, attrs);
    }

    /** The file a request path names, or null when it may not name one. */
    Path resolve(String requestPath) {
        Path out = root;
        for (String raw : requestPath.split("/")) {
            if (raw.isEmpty()) {
                continue; // leading slash, trailing slash
            }
            String segment = URIUtil.decodePath(raw);
            if (segment.startsWith(".") || segment.indexOf('/') >= 0 || segment.indexOf('\\') >= 0
                    || segment.indexOf('\0') >= 0) {
                return null;
            }
            out = out.resolve(segment);
        }
        out = out.normalize();
        if (!out.startsWith(root)) {
            return null;
        }
        try {
            // Symlinks may point anywhere: what counts is where the file really is.
            if (Files.exists(out) && !out.toRealPath().startsWith(realRoot)) {
                return null;
            }
        } catch (IOException e) {
            return null;
        }
        return out;
    }

    private void serve(Exchange ex, Path file, BasicFileAttributes attrs) throws IOException {
        long size = attrs.size();
        Instant modified = attrs.lastModifiedTime().toInstant().truncatedTo(ChronoUnit.SECONDS);
        String etag = "\"" + Long.toHexString(size) + "-" + Long.toHexString(attrs.lastModifiedTime().toMillis())
                + "\"";
        String name = file.getFileName().toString();
        String type = contentType(name);
        var headers = ex.response().getHeaders();
        headers.put(HttpHeader.ETAG, etag);
        headers.put(HttpHeader.LAST_MODIFIED, HTTP_DATE.format(modified.atZone(ZoneOffset.UTC)));
        headers.put(HttpHeader.CACHE_CONTROL, cacheControl(name, type));
        headers.put("X-Content-Type-Options", "nosniff");
        if (notModified(ex, etag, modified)) {
            ex.empty(304);
            return;
        }
        ex.response().setStatus(200);
        headers.put(HttpHeader.CONTENT_TYPE, type);
        headers.put(HttpHeader.CONTENT_LENGTH, size);
        if ("HEAD".equals(ex.method())) {
            ex.write(true, null);
            return;
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[(int) Math.min(CHUNK, Math.max(1, size))];
            long left = size;
            while (left > 0) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                if (n < 0) {
                    break; // truncated under us: the client sees a short body and a closed connection
                }
                left -= n;
                ex.write(left == 0, ByteBuffer.wrap(buf, 0, n));
            }
            if (left > 0) {
                throw new IOException("file shrank while being served: " + file);
            }
            if (size == 0) {
                ex.write(true, null);
            }
        }
    }

    private static boolean notModified(Exchange ex, String etag, Instant modified) {
        String ifNoneMatch = ex.header(HttpHeader.IF_NONE_MATCH);
        if (ifNoneMatch != null) {
            // RFC 9110 13.1.2: weak comparison; If-Modified-Since is ignored when If-None-Match is present.
            for (String candidate : ifNoneMatch.split(",")) {
                String c = candidate.strip();
                if (c.equals("*") || c.equals(etag) || c.equals("W/" + etag)) {
                    return true;
                }
            }
            return false;
        }
        String since = ex.header(HttpHeader.IF_MODIFIED_SINCE);
        if (since != null) {
            try {
                return !modified.isAfter(Instant.from(HTTP_DATE.parse(since.strip())));
            } catch (DateTimeParseException e) {
                return false;
            }
        }
        return false;
    }

    static String contentType(String name) {
        String type = MimeTypes.DEFAULTS.getMimeByExtension(name);
        if (type == null) {
            return "application/octet-stream";
        }
        String lower = type.toLowerCase(Locale.ROOT);
        boolean textual = lower.startsWith("text/") || lower.equals("application/javascript")
                || lower.equals("application/json") || lower.endsWith("+xml");
        return textual && !lower.contains("charset") ? type + ";charset=utf-8" : type;
    }

    static String cacheControl(String name, String type) {
        if (type.startsWith("text/html")) {
            return "public, max-age=" + HTML_MAX_AGE;
        }
        if (HASHED.matcher(name).matches()) {
            return "public, max-age=" + HASHED_MAX_AGE + ", immutable";
        }
        return "public, max-age=" + ASSET_MAX_AGE;
    }
}
