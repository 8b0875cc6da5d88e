"""gunicorn settings for congress: `gunicorn -c deploy/gunicorn.conf.py`.

Everything can be changed through the environment, so one file serves every host:

  GUNICORN_BIND       address to listen on                  127.0.0.1:8000 (nginx in front)
  GUNICORN_WORKERS    worker processes                      2 × cores + 1
  GUNICORN_THREADS    threads per worker (gthread if > 1)   1 (sync workers)
  GUNICORN_TIMEOUT    seconds a request may take            60
  GUNICORN_ACCESSLOG  access log file, "-" for stdout,      "-"
                      empty for none

The application reads its own settings (DATABASE_URL, SECRET_KEY, ...) from the environment:
see docs/deployment.md. With more than one worker the sign-in limit must be counted in a store
the workers share (CONGRESS_RATELIMIT_STORAGE=redis://127.0.0.1:6379); with counts in memory
gunicorn logs a warning at start, as each worker would allow the full rate.
"""
import multiprocessing
import os

wsgi_app = "congress:create_app()"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# A worker is replaced after this many requests (with jitter, so they do not all restart at
# once): memory a worker accumulated serving large pages is given back to the system.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10
# Each worker imports the app itself: a new release is picked up by `systemctl reload` (HUP).
preload_app = False
# nginx on the same host (or the load balancer) sets X-Forwarded-For/-Proto.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")


def on_starting(server):
    """Say so when the sign-in limit would be counted per worker (several workers, counts in memory)."""
    from congress.config import limiter_storage_warning

    message = limiter_storage_warning(os.environ.get("CONGRESS_MODE", "production"),
                                      os.environ.get("CONGRESS_RATELIMIT_STORAGE", "memory://"), server.cfg.workers)
    if message:
        server.log.warning("congress: %s", message)
