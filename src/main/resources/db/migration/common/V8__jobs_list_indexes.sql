-- The jobs list (GET /api/v1/jobs, the dashboard) pages newest first by id, filtered by state or pipeline: with the
-- id second, each filter reads its rows already in page order and stops after one page, instead of sorting every job
-- in that state or pipeline (jobs_claim leads with state but orders by run_at). Per-state counts read jobs_state_id
-- alone. Owner-scoped lists already have jobs_owner (owner, id).
CREATE INDEX jobs_state_id ON jobs (state, id);
CREATE INDEX jobs_pipeline_id ON jobs (pipeline, id);
