"""The Solidity build: from source, offline, cached, with readable errors."""

import shutil

import pytest
import solcx

from l2.errors import CompileError
from l2.l1 import compiler
from l2.l1.compiler import compile_project


def test_compiles_every_contract_from_source(tmp_path):
    artifacts = compile_project(force=True, build_dir=tmp_path)
    assert "TestToken" in artifacts and "SignaturesHarness" in artifacts
    token = artifacts["TestToken"]
    assert token.source == "contracts/test/TestToken.sol"
    assert token.bytecode and token.runtime_bytecode
    assert any(item.get("name") == "transfer" for item in token.abi)
    assert artifacts.compiler_version.startswith("0.8.30")
    assert (tmp_path / "artifacts.json").exists()


def test_unchanged_tree_does_not_recompile(monkeypatch):
    first = compile_project()  # the project cache: cold the first time, then shared with every test

    def no_solc(*args, **kwargs):
        raise AssertionError("solc ran although nothing changed")

    monkeypatch.setattr(solcx, "compile_standard", no_solc)
    second = compile_project()
    assert second.cache_key == first.cache_key
    assert second["TestToken"].bytecode == first["TestToken"].bytecode


def test_changed_source_recompiles(tmp_path):
    contracts = tmp_path / "contracts"
    (contracts / "x").mkdir(parents=True)
    source = "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.24;\ncontract Alpha { uint256 public a = 1; }\n"
    (contracts / "x" / "Alpha.sol").write_text(source)
    first = compile_project(contracts_dir=contracts, build_dir=tmp_path / "build")
    (contracts / "x" / "Alpha.sol").write_text(source.replace("= 1", "= 2"))
    second = compile_project(contracts_dir=contracts, build_dir=tmp_path / "build")
    assert first.cache_key != second.cache_key
    assert first["Alpha"].bytecode != second["Alpha"].bytecode


def test_compile_error_points_at_file_and_line(tmp_path):
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    (contracts / "Broken.sol").write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.24;\n\ncontract Broken {\n    uint256 x = nope;\n}\n"
    )
    with pytest.raises(CompileError) as info:
        compile_project(contracts_dir=contracts, build_dir=tmp_path / "build")
    message = str(info.value)
    assert message.startswith("contracts/Broken.sol:5: DeclarationError:")
    assert "Undeclared identifier" in message and "{" not in message  # solc's words, not a JSON dump


def test_unknown_contract_name_is_a_clear_error():
    artifacts = compile_project()
    with pytest.raises(CompileError, match="no contract named 'Nope'"):
        artifacts["Nope"]


def test_missing_solcjs_is_reported(monkeypatch, tmp_path):
    monkeypatch.setattr(compiler, "SOLCJS_PACKAGE", tmp_path / "absent" / "package.json")
    monkeypatch.delenv("SOLC_BINARY", raising=False)
    with pytest.raises(Exception, match="npm ci"):
        compiler.find_compiler()


def test_native_solc_from_environment_wins(monkeypatch, tmp_path):
    fake = tmp_path / "solc"
    shutil.copy(compiler.SOLCJS_LAUNCHER, fake)  # any executable that speaks solc's CLI will do
    monkeypatch.setenv("SOLC_BINARY", str(fake))
    found = compiler.find_compiler()
    assert found.binary == fake and found.identity.startswith("native:")
