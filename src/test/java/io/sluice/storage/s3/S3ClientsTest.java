package io.sluice.storage.s3;

import io.sluice.testing.S3Server;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** The shared client factory against a real S3-compatible server: objects and multipart uploads round-trip. */
class S3ClientsTest {

    @Test
    void putGetAndMultipartBookkeepingWork() {
        S3Server s3 = S3Server.get();
        String bucket = s3.newBucket();
        try (S3Client client = S3Clients.client(s3.settings(bucket, S3Settings.DEFAULT_PART_SIZE))) {
            client.putObject(b -> b.bucket(bucket).key("a/b"), RequestBody.fromString("hello"));
            assertThat(client.getObjectAsBytes(b -> b.bucket(bucket).key("a/b")).asString(StandardCharsets.UTF_8))
                    .isEqualTo("hello");
            String uploadId = client.createMultipartUpload(b -> b.bucket(bucket).key("m")).uploadId();
            assertThat(s3.multipartUploads(bucket)).containsExactly("m");
            client.abortMultipartUpload(b -> b.bucket(bucket).key("m").uploadId(uploadId));
            assertThat(s3.multipartUploads(bucket)).isEmpty();
            assertThat(s3.objects(bucket)).containsExactly("a/b");
        }
    }
}
