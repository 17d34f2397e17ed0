"""OpenAI-compatible speech-to-text on 127.0.0.1 around faster-whisper (stdlib HTTP only).

POST /v1/audio/transcriptions  multipart: file, model (tiny.en | base | whisper-1 = default),
     language, prompt, temperature (default 0), response_format (json | verbose_json | text)
GET  /health, GET /v1/models
Env: MEZZOFY_WHISPER_DIR (models/ below it), MEZZOFY_WHISPER_PORT (8178),
     MEZZOFY_WHISPER_MODELS ("tiny.en,base": loaded once at start), MEZZOFY_WHISPER_DEFAULT_MODEL
     (base), MEZZOFY_WHISPER_THREADS (0 = all cores), MEZZOFY_WHISPER_MAX_BYTES (104857600).
"""
import email.parser, email.policy, io, json, os, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from faster_whisper import WhisperModel

DIR = os.environ.get("MEZZOFY_WHISPER_DIR", "/var/lib/mezzofy/whisper")
PORT = int(os.environ.get("MEZZOFY_WHISPER_PORT", "8178"))
NAMES = [n.strip() for n in os.environ.get("MEZZOFY_WHISPER_MODELS", "tiny.en,base").split(",") if n.strip()]
DEFAULT = os.environ.get("MEZZOFY_WHISPER_DEFAULT_MODEL", "base" if "base" in NAMES else NAMES[0])
MAX_BYTES = int(os.environ.get("MEZZOFY_WHISPER_MAX_BYTES", str(100 * 1024 * 1024)))
THREADS = int(os.environ.get("MEZZOFY_WHISPER_THREADS", "0"))
MODELS = {n: WhisperModel(f"{DIR}/models/{n}", device="cpu", compute_type="int8", cpu_threads=THREADS) for n in NAMES}
LOCK = threading.Lock()  # one transcription at a time: the CPU is the limit anyway


class ApiError(Exception):
    def __init__(self, status, message, param=None, code=None):
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code


def parse_form(content_type, body):
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if not msg.is_multipart():
        raise ApiError(400, "expected multipart/form-data")
    fields = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            data = part.get_payload(decode=True) or b""
            fields[name] = data if part.get_filename() is not None or name == "file" else data.decode("utf-8", "replace")
    return fields


def transcribe(f):
    if not isinstance(f.get("file"), bytes) or not f["file"]:
        raise ApiError(400, "missing 'file'", "file", "missing_file")
    name = f.get("model") or DEFAULT
    name = DEFAULT if name == "whisper-1" else name
    if name not in MODELS:
        raise ApiError(400, f"unknown model '{name}' (have: {', '.join(MODELS)})", "model", "model_not_found")
    lang = (f.get("language") or "").strip().lower() or None
    if lang and lang != "en" and not MODELS[name].model.is_multilingual:
        raise ApiError(400, f"model '{name}' is English-only; language '{lang}' needs 'base'", "language", "unsupported_language")
    try:
        temperature = float(f.get("temperature") or 0)
    except ValueError:
        raise ApiError(400, "temperature must be a number", "temperature") from None
    started = time.monotonic()
    with LOCK:
        try:
            segs, info = MODELS[name].transcribe(io.BytesIO(f["file"]), language=lang, beam_size=5,
                                                 temperature=temperature, initial_prompt=f.get("prompt") or None)
            segs = list(segs)
        except Exception as e:  # undecodable audio and the like
            raise ApiError(400, f"could not transcribe: {e}", "file", "invalid_audio") from None
    segments = [{"id": s.id, "seek": s.seek, "start": round(s.start, 3), "end": round(s.end, 3), "text": s.text,
                 "tokens": s.tokens, "temperature": s.temperature, "avg_logprob": s.avg_logprob,
                 "compression_ratio": s.compression_ratio, "no_speech_prob": s.no_speech_prob} for s in segs]
    return {"task": "transcribe", "language": info.language, "duration": round(info.duration, 3),
            "text": "".join(s.text for s in segs).strip(), "segments": segments, "model": name,
            "processing_secs": round(time.monotonic() - started, 3)}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def send(self, status, obj, ctype="application/json"):
        body = obj.encode() if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{ctype}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, e):
        self.send(e.status, {"error": {"message": e.message, "type": "invalid_request_error", "param": e.param, "code": e.code}})

    def do_GET(self):
        if self.path == "/health":
            self.send(200, {"status": "ok", "models": list(MODELS), "default_model": DEFAULT})
        elif self.path == "/v1/models":
            self.send(200, {"object": "list", "data": [{"id": n, "object": "model", "owned_by": "local"} for n in MODELS]})
        else:
            self.error(ApiError(404, f"no route GET {self.path}"))

    def do_POST(self):
        try:
            if self.path != "/v1/audio/transcriptions":
                raise ApiError(404, f"no route POST {self.path}")
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BYTES:
                self.close_connection = True
                raise ApiError(413, f"request body over {MAX_BYTES} bytes", "file", "file_too_large")
            f = parse_form(self.headers.get("Content-Type", ""), self.rfile.read(length))
            out = transcribe(f)
            fmt = f.get("response_format") or "json"
            if fmt == "text":
                self.send(200, out["text"] + "\n", "text/plain")
            else:
                self.send(200, out if fmt == "verbose_json" else {"text": out["text"]})
        except ApiError as e:
            self.error(e)


if __name__ == "__main__":
    print(f"whisper server on 127.0.0.1:{PORT} models={list(MODELS)} default={DEFAULT}", flush=True)
    ThreadingHTTPServer.request_queue_size = 32
    ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
