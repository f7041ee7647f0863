"""The proxy: one small instruction-conditioned encoder with a label head and a span head."""

from falconer.proxy.config import ProxyConfig, TrainConfig
from falconer.proxy.proxy import Proxy, UnseenInstructionWarning

__all__ = ["Proxy", "ProxyConfig", "TrainConfig", "UnseenInstructionWarning"]
