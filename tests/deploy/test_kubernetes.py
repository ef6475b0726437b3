"""deploy/kubernetes: the manifests agree with each other and with the gateway's own config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.config import Config, config_from_text
from gateway.settings import SOURCES
from tests.conftest import ROOT
from tests.processes import gateway_cli

K8S = ROOT / "deploy" / "kubernetes"


def documents() -> dict[str, dict[str, Any]]:
    """Every manifest in the directory, by kind (each kind appears once)."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            assert doc["kind"] not in found, f"{path.name}: a second {doc['kind']}"
            found[doc["kind"]] = doc
    return found


@pytest.fixture(scope="module")
def k8s() -> dict[str, dict[str, Any]]:
    return documents()


def gateway_yaml(k8s: dict[str, dict[str, Any]]) -> str:
    text: str = k8s["ConfigMap"]["data"]["gateway.yaml"]
    return text


def parsed(k8s: dict[str, dict[str, Any]]) -> Config:
    return config_from_text(gateway_yaml(k8s), "configmap.yaml", SOURCES, environ={})


def container(k8s: dict[str, dict[str, Any]]) -> dict[str, Any]:
    (only,) = k8s["Deployment"]["spec"]["template"]["spec"]["containers"]
    result: dict[str, Any] = only
    return result


def test_every_kind_is_there(k8s: dict[str, dict[str, Any]]) -> None:
    assert set(k8s) == {
        "ConfigMap",
        "Secret",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "Middleware",
        "IngressRoute",
    }


def test_the_configmap_passes_check(k8s: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(gateway_yaml(k8s))
    done = gateway_cli("check", "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"{config}: OK"
    assert done.stderr == ""  # no warning either


def test_the_grace_period_covers_the_presleep_and_the_drain(
    k8s: dict[str, dict[str, Any]],
) -> None:
    proxy = parsed(k8s).proxy
    pod = k8s["Deployment"]["spec"]["template"]["spec"]
    command = container(k8s)["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    sleep = float(command[1])
    # The preStop sleep is the drain delay: the gateway adds none of its own.
    assert proxy.drain_delay == 0
    assert sleep > 0
    assert pod["terminationGracePeriodSeconds"] >= sleep + proxy.drain_timeout + 5


def test_the_probes_ask_the_admin_listener(k8s: dict[str, dict[str, Any]]) -> None:
    config = parsed(k8s)
    assert config.admin_listen == ("0.0.0.0", 8082)
    assert config.proxy.trusted_proxies, "the admin listener is reachable: name who is believed"
    c = container(k8s)
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"http": config.listen_port, "admin": 8082}
    assert config.listen_host == "0.0.0.0"
    prefix = config.admin_prefix
    assert c["readinessProbe"]["httpGet"] == {"path": f"{prefix}/readyz", "port": "admin"}
    assert c["livenessProbe"]["httpGet"] == {"path": f"{prefix}/healthz", "port": "admin"}


def test_the_session_key_comes_from_the_secret(k8s: dict[str, dict[str, Any]]) -> None:
    secret = k8s["Secret"]
    assert set(secret["stringData"]) == {"PORTAL_GATEWAY_SESSION_KEY"}
    # Empty on purpose: a key under 32 characters stops the gateway, so no placeholder ships.
    assert secret["stringData"]["PORTAL_GATEWAY_SESSION_KEY"] == ""
    refs = [e["secretRef"]["name"] for e in container(k8s)["envFrom"]]
    assert refs == [secret["metadata"]["name"]]
    assert "session_key:" not in gateway_yaml(k8s).replace("# ", "")


def test_the_config_and_state_are_mounted_where_the_gateway_reads_them(
    k8s: dict[str, dict[str, Any]],
) -> None:
    config = parsed(k8s)
    c = container(k8s)
    assert c["args"] == ["run", "--config", "/etc/portal-gateway/gateway.yaml"]
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in k8s["Deployment"]["spec"]["template"]["spec"]["volumes"]}
    assert volumes["config"]["configMap"]["name"] == k8s["ConfigMap"]["metadata"]["name"]
    assert mounts["config"] == "/etc/portal-gateway"
    assert config.settings.state_file is not None
    assert Path(config.settings.state_file).parent == Path(mounts["state"])
    # Several replicas agree on the last disable only through the store's change time.
    assert config.settings.options.get("changed_at_field") == "changed_at"


def test_the_disruption_budget_and_service_select_the_pods(
    k8s: dict[str, dict[str, Any]],
) -> None:
    labels = k8s["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert k8s["Deployment"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert k8s["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert k8s["Service"]["spec"]["selector"].items() <= labels.items()
    assert k8s["Deployment"]["spec"]["replicas"] > 1
    assert k8s["PodDisruptionBudget"]["spec"]["maxUnavailable"] == 1


def test_traefik_asks_the_decision_endpoint_of_the_service(
    k8s: dict[str, dict[str, Any]],
) -> None:
    config = parsed(k8s)
    assert config.forward_auth.proxy == "traefik"
    forward = k8s["Middleware"]["spec"]["forwardAuth"]
    service, namespace = k8s["Service"]["metadata"]["name"], k8s["Service"]["metadata"]["namespace"]
    admin_port = next(p["port"] for p in k8s["Service"]["spec"]["ports"] if p["name"] == "admin")
    assert forward["address"] == (
        f"http://{service}.{namespace}.svc.cluster.local:{admin_port}{config.admin_prefix}/decision"
    )
    assert forward["trustForwardHeader"] is False
    assert forward["authResponseHeaders"] == ["Cookie"]
    names = (*config.customer_portal.session_cookies, config.customer_portal.stamp_cookie)
    assert sorted(forward["addAuthCookiesToResponse"]) == sorted(names)
    route = k8s["IngressRoute"]["spec"]["routes"][0]
    assert route["middlewares"] == [{"name": k8s["Middleware"]["metadata"]["name"]}]
