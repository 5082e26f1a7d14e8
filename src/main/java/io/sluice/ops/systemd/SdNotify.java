package io.sluice.ops.systemd;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;

/**
 * The sd_notify protocol: one datagram of {@code KEY=VALUE} lines to the AF_UNIX socket named by
 * {@code NOTIFY_SOCKET} ({@code @name} is the abstract namespace). Written with the FFM API (socket + sendto +
 * close from libc) because the JDK cannot send AF_UNIX datagrams, and a {@code systemd-notify} process per
 * watchdog ping would cost a fork each time and, without {@code NotifyAccess=all}, be ignored by systemd as not
 * the main pid. Each call opens and closes its own socket: notifications are rare and a stale socket is never kept.
 * Thread-safe.
 */
public final class SdNotify {

    static final int AF_UNIX = 1;
    static final int SOCK_DGRAM = 2;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int MSG_NOSIGNAL = 0x4000;
    /** sizeof(struct sockaddr_un) on Linux: a 2-byte family and 108 bytes of path. */
    static final int SOCKADDR_UN_SIZE = 110;
    static final int SUN_PATH_MAX = 108;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    private final String socketName;
    private final MethodHandle socket;
    private final MethodHandle sendto;
    private final MethodHandle close;

    private SdNotify(String socketName) {
        this.socketName = socketName;
        SymbolLookup libc = LINKER.defaultLookup();
        Linker.Option errno = Linker.Option.captureCallState("errno");
        socket = LINKER.downcallHandle(libc.find("socket").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), errno);
        sendto = LINKER.downcallHandle(libc.find("sendto").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_LONG,
                ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
                ValueLayout.ADDRESS, ValueLayout.JAVA_INT), errno);
        close = LINKER.downcallHandle(libc.find("close").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    }

    /** The notifier for {@code NOTIFY_SOCKET} in {@code env}, or empty when not started by systemd (or not Linux). */
    public static Optional<SdNotify> fromEnvironment(Map<String, String> env) {
        String name = env.get("NOTIFY_SOCKET");
        if (name == null || name.isEmpty() || !System.getProperty("os.name", "").startsWith("Linux")) {
            return Optional.empty();
        }
        return Optional.of(new SdNotify(name));
    }

    public String socketName() {
        return socketName;
    }

    /** Sends {@code state}, e.g. {@code "READY=1\nMAINPID=42"}. */
    public void send(String state) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = arena.allocate(CAPTURE);
            int fd = (int) socket.invokeExact(capture, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            if (fd < 0) {
                throw new IOException("socket(AF_UNIX, SOCK_DGRAM) failed: errno " + (int) ERRNO.get(capture, 0L));
            }
            try {
                MemorySegment addr = arena.allocate(SOCKADDR_UN_SIZE);
                int addrLen = sockaddrUn(addr, socketName);
                byte[] bytes = state.getBytes(StandardCharsets.UTF_8);
                MemorySegment buf = arena.allocate(bytes.length);
                MemorySegment.copy(bytes, 0, buf, ValueLayout.JAVA_BYTE, 0, bytes.length);
                long sent = (long) sendto.invokeExact(capture, fd, buf, (long) bytes.length, MSG_NOSIGNAL, addr,
                        addrLen);
                if (sent < 0) {
                    throw new IOException("sendto(" + socketName + ") failed: errno " + (int) ERRNO.get(capture, 0L));
                }
            } finally {
                int ignored = (int) close.invokeExact(fd);
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("sd_notify failed: " + t, t);
        }
    }

    /**
     * Fills {@code struct sockaddr_un} and returns the address length to pass: for the abstract namespace
     * ({@code @name}) the leading NUL and the name exactly, no trailing NUL, since every byte counts there.
     */
    static int sockaddrUn(MemorySegment addr, String name) throws IOException {
        byte[] path = name.getBytes(StandardCharsets.UTF_8);
        boolean abstractName = path[0] == '@';
        if (abstractName) {
            path[0] = 0;
        }
        if (path.length >= SUN_PATH_MAX) {
            throw new IOException("socket path too long for sockaddr_un: " + name);
        }
        addr.fill((byte) 0);
        addr.set(ValueLayout.JAVA_SHORT, 0, (short) AF_UNIX);
        MemorySegment.copy(path, 0, addr, ValueLayout.JAVA_BYTE, 2, path.length);
        return 2 + path.length + (abstractName ? 0 : 1);
    }
}
