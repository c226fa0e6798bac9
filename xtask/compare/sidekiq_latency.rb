# Sidekiq's idle latency, measured as `routemq bench` measures RouteMQ's:
# jobs sent 5 ms apart to an idle worker, each job's wait from just before
# its push to the start of its `perform`.
#
# Run by `cargo xtask compare-sidekiq` (xtask/src/sidekiq.rs), which reads the
# last line of stdout: "p50_ms p99_ms count". Arguments: the Redis URL of an
# empty database (this script refuses any other, and empties it after), the
# number of jobs, the Sidekiq concurrency. It starts `sidekiq` on this same
# file as the server (a separate process, as Sidekiq runs), sends the jobs from
# this process and stops the server.
#
# Loaded by the Sidekiq server (`sidekiq -r` this file), only the job class
# and the connection settings below run.
require "sidekiq"
Redis.silence_deprecations = true if Redis.respond_to?(:silence_deprecations=)

URL = ENV.fetch("COMPARE_SIDEKIQ_REDIS")
WAITS = "compare:sidekiq:waits"
Sidekiq.configure_server { |c| c.redis = { url: URL } }
Sidekiq.configure_client { |c| c.redis = { url: URL } }

def now_us = Process.clock_gettime(Process::CLOCK_REALTIME, :microsecond)

# One ping: records how long after `sent_us` it started.
class PingJob
  include Sidekiq::Worker
  sidekiq_options queue: "lat", retry: false

  def perform(sent_us)
    waited = now_us - sent_us
    Sidekiq.redis { |r| r.rpush(WAITS, waited) }
  end
end

if $PROGRAM_NAME == __FILE__
  jobs = Integer(ARGV.fetch(0, "1000"))
  concurrency = ARGV.fetch(1, "10")
  keys = Sidekiq.redis(&:dbsize)
  abort "compare-sidekiq: #{URL} holds #{keys} keys; it needs an empty database" unless keys.zero?
  server = Process.spawn("sidekiq", "-r", File.expand_path(__FILE__), "-c", concurrency,
                         "-q", "lat", "-e", "production", out: File::NULL, err: File::NULL)
  begin
    # Idle: wait until the server's fetchers block on the queue.
    deadline = Time.now + 30
    sleep 0.1 until Sidekiq.redis { |r| r.exists?("processes") } || Time.now > deadline
    sleep 1
    jobs.times do
      PingJob.perform_async(now_us)
      sleep 0.005
    end
    deadline = Time.now + 30
    sleep 0.05 while Sidekiq.redis { |r| r.llen(WAITS) } < jobs && Time.now < deadline
    waits = Sidekiq.redis { |r| r.lrange(WAITS, 0, -1) }.map(&:to_i).sort
    abort "compare-sidekiq: #{waits.size} of #{jobs} jobs started within 30 s" if waits.size < jobs
    p50 = waits[waits.size / 2] / 1000.0
    p99 = waits[waits.size * 99 / 100] / 1000.0
    puts format("%.3f %.3f %d", p50, p99, waits.size)
  ensure
    Process.kill("TERM", server)
    Process.wait(server)
    Sidekiq.redis(&:flushdb)
  end
end
