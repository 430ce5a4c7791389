"""A local VLM through transformers (``AutoProcessor`` + ``AutoModelForImageTextToText``), from a hub id
or a local folder (or a model already in memory), on CUDA, MPS or CPU, streaming token by token. Needs the ``ml``
extra."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from ..errors import GlyphpressError
from .base import Piece, Request, Usage, decoded
from .openai import BackendError


def _device(name: str):
    import torch

    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _dtype(name: str, device):
    import torch

    if name == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    try:
        return getattr(torch, name)
    except AttributeError:
        raise GlyphpressError(f"unknown dtype {name!r}; use auto, float32, float16 or bfloat16") from None


def _processor_class():
    from transformers import BatchFeature, ProcessorMixin

    class ImageOnlyProcessor(ProcessorMixin):
        """Image processor + tokenizer for Qwen-VL / GLM-4.1V style models where the full processor cannot be
        built (its video half needs torchvision): a processor (TRL's trainers take it as one) that expands
        each image placeholder to the image's token count, as the real processors do."""

        attributes = ["image_processor", "tokenizer"]
        image_processor_class = "AutoImageProcessor"
        tokenizer_class = "AutoTokenizer"

        def __init__(self, image_processor=None, tokenizer=None, chat_template: str | None = None, **kwargs):
            super().__init__(image_processor, tokenizer,
                             chat_template=chat_template or getattr(tokenizer, "chat_template", None))
            vocab = tokenizer.get_vocab()
            self.image_token = next((t for t in ("<|image_pad|>", "<|image|>") if t in vocab), None)
            if self.image_token is None:
                raise GlyphpressError("the tokenizer has no image placeholder token (<|image_pad|> or <|image|>)")

        def __call__(self, text=None, images=None, return_tensors: str | None = "pt", **kwargs):
            if isinstance(text, str):
                text = [text]
            feats: dict = {}
            if images:
                feats = dict(self.image_processor(images=images, return_tensors=return_tensors))
                merge = getattr(self.image_processor, "merge_size", 2) ** 2
                counts = (feats["image_grid_thw"].prod(-1) // merge).tolist()
                out, k = [], 0
                for t in text:
                    parts = t.split(self.image_token)
                    pieces = [parts[0]]
                    for part in parts[1:]:
                        pieces.append("<|placeholder|>" * counts[k] + part)
                        k += 1
                    out.append("".join(pieces).replace("<|placeholder|>", self.image_token))
                text = out
            keep = {k: v for k, v in kwargs.items() if k in ("padding", "padding_side", "truncation", "max_length",
                                                               "add_special_tokens", "return_attention_mask")}
            enc = self.tokenizer(text, return_tensors=return_tensors, **keep)
            return BatchFeature({**enc, **feats})

        def batch_decode(self, *args, **kwargs):
            return self.tokenizer.batch_decode(*args, **kwargs)

        def decode(self, *args, **kwargs):
            return self.tokenizer.decode(*args, **kwargs)

    return ImageOnlyProcessor


def load_processor(model: str, trust_remote_code: bool = False):
    """The model's processor; without torchvision, its image processor and tokenizer alone."""
    from transformers import AutoImageProcessor, AutoProcessor, AutoTokenizer

    try:
        return AutoProcessor.from_pretrained(model, trust_remote_code=trust_remote_code)
    except (ImportError, TypeError, ValueError) as e:
        if "video" not in str(e).lower() and "torchvision" not in str(e).lower():
            raise
    return _processor_class()(AutoImageProcessor.from_pretrained(model, use_fast=False),
                              AutoTokenizer.from_pretrained(model, trust_remote_code=trust_remote_code))


def load_model(model: str, dtype=None, attn: str | None = None, trust_remote_code: bool = False):
    """``AutoModelForImageTextToText`` from a hub id or a folder, with the attention kernel ``attn`` where
    given (sdpa, transformers' default; eager; flash_attention_2); missing files, no network for a hub id, a
    bad config or an unknown or uninstalled kernel are one-line errors."""
    from transformers import AutoModelForImageTextToText

    kwargs = {"dtype": dtype} if dtype is not None else {}
    if attn:
        kwargs["attn_implementation"] = attn
    try:
        return AutoModelForImageTextToText.from_pretrained(model, trust_remote_code=trust_remote_code, **kwargs)
    except (OSError, ValueError, ImportError) as e:
        raise GlyphpressError(f"cannot load model {model!r}: {str(e).splitlines()[0]}") from None


def _token_streamer(tokenizer, **kwargs):
    """A ``TextIteratorStreamer`` that hands on the text of every token as it comes, not word by word (the
    stock streamer holds a word back until its space), keeping back only an unfinished UTF-8 character: the
    first piece then marks the first token, so the time to it is the prefill's."""
    from transformers import TextIteratorStreamer

    class TokenStreamer(TextIteratorStreamer):
        def put(self, value):
            if len(value.shape) > 1:
                if value.shape[0] > 1:
                    raise ValueError("streaming takes one sequence at a time")
                value = value[0]
            if self.skip_prompt and self.next_tokens_are_prompt:
                self.next_tokens_are_prompt = False
                return
            self.token_cache.extend(value.tolist())
            text = self.tokenizer.decode(self.token_cache, **self.decode_kwargs)
            if text.endswith("\ufffd"):  # a character split across tokens: wait for the rest
                return
            piece = text[self.print_len:]
            if text.endswith("\n"):  # a line done: decode from here on, not the whole answer again
                self.token_cache, self.print_len = [], 0
            else:
                self.print_len = len(text)
            if piece:
                self.on_finalized_text(piece)

    return TokenStreamer(tokenizer, **kwargs)


class TransformersBackend:
    name = "transformers"

    @classmethod
    def wrap(cls, net, processor, model: str) -> TransformersBackend:
        """A backend around a model already in memory (one just trained, or built from a config), on the
        device it is on, put in eval mode (call ``.train()`` on it to train again); ``model`` names it in
        results."""
        self = cls.__new__(cls)
        self.model, self.processor, self.net = model, processor, net.eval()
        self.device = next(net.parameters()).device
        self._lock = threading.Lock()
        return self

    def __init__(self, model: str, device: str = "auto", dtype: str = "auto", trust_remote_code: bool = False,
                 attn: str | None = None):
        """``attn``: the attention kernel (sdpa, transformers' default; eager; flash_attention_2, which runs
        Qwen2.5-VL's vision windows in one call per layer where SDPA makes one per window)."""
        try:
            import torch  # noqa: F401
            import transformers  # noqa: F401
        except ImportError:
            raise GlyphpressError("the transformers backend needs the ml extra: pip install 'glyphpress[ml]'") from None
        self.model = model
        self.device = _device(device)
        if model.startswith(("/", "./", "../", "~")) and not Path(model).expanduser().is_dir():
            raise GlyphpressError(f"cannot load model {model!r}: no such folder")
        self.net = load_model(model, dtype=_dtype(dtype, self.device), attn=attn,
                              trust_remote_code=trust_remote_code).to(self.device)
        try:
            self.processor = load_processor(model, trust_remote_code)
        except (OSError, ValueError) as e:  # missing files, bad config
            raise GlyphpressError(f"cannot load model {model!r}: {str(e).splitlines()[0]}") from None
        self.net.eval()
        self._lock = threading.Lock()  # one generation at a time on one model

    def inputs(self, r: Request):
        content = [{"type": "image"} if kind == "image" else {"type": "text", "text": v} for kind, v in r.layout()]
        messages = [{"role": "user", "content": content}]
        if r.system:
            messages.insert(0, {"role": "system", "content": [{"type": "text", "text": r.system}]})
        prompt = self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        images = [decoded(img) for img in r.images]
        return self.processor(text=[prompt], images=images or None, return_tensors="pt").to(self.device)

    async def stream(self, request: Request) -> AsyncIterator[Piece]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        inputs = await asyncio.to_thread(self.inputs, request)  # pages decoded off the event loop
        streamer = _token_streamer(self.processor.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=600)
        gen = request.gen
        stopped = threading.Event()  # the caller went away: generation ends at its next token

        class Stop(StoppingCriteria):
            def __call__(self, *args, **kwargs) -> bool:
                return stopped.is_set()

        kwargs = dict(inputs, streamer=streamer, max_new_tokens=gen.max_tokens, do_sample=gen.temperature > 0,
                      stopping_criteria=StoppingCriteriaList([Stop()]))
        if gen.temperature > 0:
            kwargs.update(temperature=gen.temperature, top_p=gen.top_p)
        result: dict = {}

        def run() -> None:
            try:
                with self._lock, torch.inference_mode():
                    out = self.net.generate(**kwargs)
                result["completion"] = int(out.shape[1] - inputs["input_ids"].shape[1])
            except Exception as e:  # reported to the caller below
                result["error"] = e
                streamer.end()

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        loop = asyncio.get_running_loop()
        it = iter(streamer)
        try:
            while True:
                piece = await loop.run_in_executor(None, next, it, None)
                if piece is None:
                    break
                if piece:
                    yield Piece(text=piece)
        finally:  # also when the caller stops early: the model's thread ends before this does
            stopped.set()
            while worker.is_alive():
                try:
                    await asyncio.shield(loop.run_in_executor(None, worker.join))
                except asyncio.CancelledError:
                    continue
        err = result.get("error")
        if err is not None:
            if "out of memory" in str(err).lower():
                raise BackendError(f"{self.model}: out of memory on {self.device}; lower --budget, use a denser "
                                   "preset or a smaller dtype") from None
            raise BackendError(f"{self.model}: generation failed ({type(err).__name__}: {err})") from None
        yield Piece(usage=Usage(int(inputs["input_ids"].shape[1]), result.get("completion")))

    async def aclose(self) -> None:
        pass
