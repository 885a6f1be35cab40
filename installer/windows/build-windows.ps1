<#
.SYNOPSIS
  Build the Windows installer of posapp: dist\posapp\ (PyInstaller one-folder) and
  dist\posapp-VERSION-windows-x64-setup.exe (Inno Setup).

.DESCRIPTION
  Run on Windows 10/11 x64 from the repository root, in PowerShell:

      powershell -ExecutionPolicy Bypass -File installer\windows\build-windows.ps1

  Needs: Python 3.11+ x64 (python.org build, "py" launcher) and Inno Setup 6
  (https://jrsoftware.org; ISCC.exe in its default folder or on PATH). Creates a clean
  build venv in .venv-build so a globally installed PySide6 can never leak into the bundle.
  PyInstaller cannot cross-compile: this is the only way to get the Windows build.

.PARAMETER Python
  The interpreter that creates the build venv (default: "py -3.11").

.PARAMETER SkipInstaller
  Build dist\posapp only, without running Inno Setup.
#>
param(
    [string]$Python = "py -3.11",
    [switch]$SkipInstaller
)

$ErrorActionPreference = "Stop"
$Root = Resolve-Path (Join-Path $PSScriptRoot "..\..")
Set-Location $Root
$started = Get-Date

function Invoke-Checked([string]$What, [scriptblock]$Block) {
    Write-Host "==> $What"
    & $Block
    if ($LASTEXITCODE -ne 0) { throw "$What failed (exit $LASTEXITCODE)" }
}

$venv = Join-Path $Root ".venv-build"
$py = Join-Path $venv "Scripts\python.exe"
if (-not (Test-Path $py)) {
    Invoke-Checked "creating the build venv" { Invoke-Expression "$Python -m venv `"$venv`"" }
}
# Extras: "windows" (python-escpos' Win32Raw + pywin32: win32: printers on the spooler),
# "usb" (python-escpos' Usb + pyusb + libusb: usb: printers on the WinUSB driver), "sim"
# (reportlab: the DANFE PDFs of `posapp demo` and `posapp sim`).
Invoke-Checked "installing posapp, its dependencies and the extras the bundle ships" {
    & $py -m pip install --quiet --disable-pip-version-check --upgrade pip
    & $py -m pip install --quiet --disable-pip-version-check ".[windows,usb,sim]" -r installer\requirements-build.txt
}

$version = & $py -c "import posapp; print(posapp.__version__)"
Write-Host "    posapp $version"

if (Test-Path "dist\posapp") { Remove-Item -Recurse -Force "dist\posapp" }
Invoke-Checked "freezing (PyInstaller)" {
    & $py -m PyInstaller --noconfirm --clean --log-level WARN `
        --distpath dist --workpath build\pyinstaller installer\posapp.spec
}

Invoke-Checked "checking the bundle" {
    $reported = & "dist\posapp\posapp.exe" --version
    if ($reported -ne "posapp $version") { throw "unexpected --version: $reported" }
    if (-not (Test-Path "dist\posapp\posappw.exe")) { throw "posappw.exe (windowed) is missing" }
    if (-not (Test-Path "dist\posapp\_internal\escpos\capabilities.json")) { throw "escpos data is missing" }
}
Set-Content -Path "dist\posapp\VERSION" -Value $version -Encoding ascii

if (-not $SkipInstaller) {
    $iscc = (Get-Command ISCC.exe -ErrorAction SilentlyContinue).Source
    if (-not $iscc) { $iscc = Join-Path ${env:ProgramFiles(x86)} "Inno Setup 6\ISCC.exe" }
    if (-not (Test-Path $iscc)) { throw "Inno Setup 6 not found (ISCC.exe); install it or use -SkipInstaller" }
    Invoke-Checked "building the installer (Inno Setup)" {
        & $iscc /Qp "/DAppVersion=$version" installer\windows\posapp.iss
    }
    $setup = "dist\posapp-$version-windows-x64-setup.exe"
    $hash = (Get-FileHash -Algorithm SHA256 $setup).Hash.ToLower()
    Set-Content -Path "$setup.sha256" -Value "$hash  $(Split-Path $setup -Leaf)" -Encoding ascii
    Write-Host "    installer: $setup ($([math]::Round((Get-Item $setup).Length / 1MB, 1)) MB)"
}

$size = (Get-ChildItem -Recurse "dist\posapp" | Measure-Object -Sum Length).Sum
Write-Host ("==> done in {0:N0} s; dist\posapp is {1:N0} MB" -f ((Get-Date) - $started).TotalSeconds, ($size / 1MB))
