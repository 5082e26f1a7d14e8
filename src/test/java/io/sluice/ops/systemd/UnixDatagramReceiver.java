package io.sluice.ops.systemd;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A bound AF_UNIX datagram socket, standing in for systemd's notify socket. Through FFM: the JDK's
 * {@code DatagramChannel} has no AF_UNIX, and socat is not on this machine.
 */
final class UnixDatagramReceiver implements AutoCloseable {

    private static final int SOL_SOCKET = 1;
    private static final int SO_RCVTIMEO = 20; // Linux
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final MethodHandle SOCKET = handle("socket", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle BIND = handle("bind", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle SETSOCKOPT = handle("setsockopt", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
            ValueLayout.JAVA_INT));
    private static final MethodHandle RECV = handle("recv", FunctionDescriptor.of(ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
    private static final MethodHandle CLOSE = handle("close", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT));

    private final Arena arena = Arena.ofShared();
    private final int fd;
    private final MemorySegment buffer = arena.allocate(4096);

    UnixDatagramReceiver(Path path, Duration receiveTimeout) throws Throwable {
        fd = (int) SOCKET.invokeExact(SdNotify.AF_UNIX, SdNotify.SOCK_DGRAM, 0);
        if (fd < 0) {
            throw new IOException("socket failed");
        }
        MemorySegment addr = arena.allocate(SdNotify.SOCKADDR_UN_SIZE);
        int len = SdNotify.sockaddrUn(addr, path.toString());
        if ((int) BIND.invokeExact(fd, addr, len) != 0) {
            throw new IOException("bind " + path + " failed");
        }
        MemorySegment tv = arena.allocate(16);
        tv.set(ValueLayout.JAVA_LONG, 0, receiveTimeout.toSeconds());
        tv.set(ValueLayout.JAVA_LONG, 8, receiveTimeout.toMillisPart() * 1000L);
        if ((int) SETSOCKOPT.invokeExact(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16) != 0) {
            throw new IOException("setsockopt SO_RCVTIMEO failed");
        }
    }

    /** The next datagram, or null when none came within the receive timeout. */
    String receive() throws Throwable {
        long n = (long) RECV.invokeExact(fd, buffer, buffer.byteSize(), 0);
        if (n < 0) {
            return null;
        }
        return new String(buffer.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws Exception {
        try {
            int ignored = (int) CLOSE.invokeExact(fd);
        } catch (Throwable t) {
            throw new Exception(t);
        }
        arena.close();
    }

    private static MethodHandle handle(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(LIBC.find(name).orElseThrow(), fd);
    }
}
