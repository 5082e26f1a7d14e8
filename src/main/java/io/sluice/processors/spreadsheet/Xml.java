package io.sluice.processors.spreadsheet;

import com.fasterxml.aalto.stax.InputFactoryImpl;

import javax.xml.stream.XMLInputFactory;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;
import java.io.InputStream;
import java.util.Locale;
import java.util.Set;

/**
 * The XML parser the guards use: aalto, configured as fastexcel-reader configures its own (no DTDs, no external
 * entities), so that what the guards see is what fastexcel will see.
 */
final class Xml {

    /** Immutable once configured; aalto factories are thread-safe for creating readers. */
    private static final XMLInputFactory FACTORY = create();

    /** Encodings in which every ASCII byte is the ASCII character, which the tag check relies on. */
    private static final Set<String> ASCII_COMPATIBLE = Set.of("UTF-8", "UTF8", "US-ASCII", "ASCII", "ISO-8859-1",
            "LATIN1");

    private Xml() {
    }

    private static XMLInputFactory create() {
        XMLInputFactory f = new InputFactoryImpl();
        f.setProperty(XMLInputFactory.SUPPORT_DTD, Boolean.FALSE);
        f.setProperty(XMLInputFactory.IS_SUPPORTING_EXTERNAL_ENTITIES, Boolean.FALSE);
        return f;
    }

    /** Closes a reader (not its stream), ignoring failures: nothing is lost by a failed close of a parser. */
    static void closeQuietly(XMLStreamReader r) {
        if (r != null) {
            try {
                r.close();
            } catch (XMLStreamException e) {
                // nothing to do
            }
        }
    }

    /**
     * A reader over {@code in}, refusing encodings that are not ASCII-compatible (UTF-16 or UTF-32 workbook parts
     * are not written by anything real, and would blind the tag check).
     */
    static XMLStreamReader reader(InputStream in, String entry) throws XMLStreamException, SheetException {
        XMLStreamReader r = FACTORY.createXMLStreamReader(in);
        String encoding = r.getEncoding();
        if (encoding != null && !ASCII_COMPATIBLE.contains(encoding.toUpperCase(Locale.ROOT))) {
            r.close();
            throw SheetException.malformed("entry " + entry + " is encoded in " + encoding
                    + "; workbook parts must be UTF-8", null);
        }
        return r;
    }
}
