-- A presigned upload's metadata (io.sluice.upload.PresignService): the upload token's sluice.metadata claim with
-- the preCreate hook's metadata merged over it, decided when the URL is asked for and recorded on the upload at
-- completion. A JSON object of strings, as uploads.metadata; null (rows made before this column) is no metadata.
ALTER TABLE presigned_uploads ADD COLUMN metadata TEXT;
