package io.sluice.auth;

import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The one place that removes credentials from text bound for a log line or a stored record (a job's error
 * message, a webhook delivery's last URL and error). Replaced by {@value #MASK}:
 * <ul>
 *   <li>the value of a credential-bearing parameter ({@code access_token}, {@code token}, {@code api_key},
 *       {@code key}, {@code signature}, {@code X-Amz-Signature}, {@code X-Amz-Credential}, any case) in a query
 *       string or a {@code name=value} pair;</li>
 *   <li>anything shaped like a Sluice API key ({@code sk_<26-character id>_<secret>}, see {@link KeySecret}),
 *       wherever it appears;</li>
 *   <li>anything shaped like a JWT (an upload token: {@code eyJ...}.{@code eyJ...}.signature), wherever it
 *       appears;</li>
 *   <li>the credentials of {@code Bearer}/{@code Basic} and the value of an {@code Authorization}, {@code Cookie}
 *       or {@code Set-Cookie} header written out as text.</li>
 * </ul>
 * The names are kept, so a reader still sees that a token was sent, and where.
 */
public final class Redaction {

    public static final String MASK = "***";

    /** Preceded by neither a name character nor '-', so {@code key} does not match inside {@code monkey=}. */
    private static final Pattern PARAMETER = Pattern.compile(
            "(?i)(?<![A-Za-z0-9_.-])(access_token|token|api_key|key|signature|x-amz-signature|x-amz-credential)"
                    + "=[^&\\s#\"'<>,;]*");
    private static final Pattern API_KEY = Pattern.compile(
            Pattern.quote(KeySecret.PREFIX) + "[0-9A-Za-z]{26}_[A-Za-z0-9_-]+");
    /** Header and payload of a JWS are base64url of JSON objects, so both start with {@code eyJ}. */
    private static final Pattern JWT = Pattern.compile("eyJ[A-Za-z0-9_-]*\\.eyJ[A-Za-z0-9_-]*\\.[A-Za-z0-9_-]*");
    private static final Pattern SCHEME = Pattern.compile("(?i)\\b(Bearer|Basic)\\s+[A-Za-z0-9._~+/=-]+");
    private static final Pattern HEADER = Pattern.compile(
            "(?i)\\b(proxy-authorization|authorization|set-cookie|cookie)(\\s*[:=]\\s*)[^\\r\\n]*");

    private Redaction() {
    }

    /** {@code text} with every credential replaced by {@value #MASK}; null stays null. */
    public static String redact(String text) {
        if (text == null || !mayHoldCredential(text)) {
            return text;
        }
        return applyAll(text);
    }

    /** Every expression, without the pre-check (its test checks the pre-check against this). */
    static String applyAll(String text) {
        String out = API_KEY.matcher(text).replaceAll(MASK);
        out = JWT.matcher(out).replaceAll(MASK);
        out = HEADER.matcher(out).replaceAll("$1$2" + MASK);
        out = SCHEME.matcher(out).replaceAll("$1 " + MASK);
        return PARAMETER.matcher(out).replaceAll("$1=" + MASK);
    }

    /**
     * A cheap pre-check that every text one of the expressions above would change passes: a parameter name with
     * its {@code =} ({@code access_token=} contains {@code token=}, {@code x-amz-signature=} {@code signature=}),
     * a header name, a scheme, the API-key prefix or a JWT's {@code eyJ}, names in any case. Most log lines (every
     * access-log line without a credential: {@code in=... client=host:port}) have none and skip the regular
     * expressions; a bare {@code =} or {@code :}, the old pre-check, sent every access-log line through all five.
     */
    static boolean mayHoldCredential(String text) {
        if (text.contains(KeySecret.PREFIX) || text.contains("eyJ")) {
            return true;
        }
        String lower = text.toLowerCase(Locale.ROOT);
        for (String needle : NEEDLES) {
            if (lower.contains(needle)) {
                return true;
            }
        }
        return false;
    }

    /** Lower-case fragments every case-insensitive match of PARAMETER, SCHEME or HEADER contains. */
    private static final List<String> NEEDLES = List.of("token=", "key=", "signature=", "credential=", "bearer",
            "basic", "authorization", "cookie");
}
