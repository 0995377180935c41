package dev.shadowpatch.disk;

import java.nio.file.Path;

/** A guest file system mounted on the host; {@link #close()} unmounts and stops the export, always. */
public interface MountedImage extends AutoCloseable {
    Path root();

    @Override
    void close();
}
