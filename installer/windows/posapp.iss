; Inno Setup 6 script for posapp on Windows (built on Windows by build-windows.ps1, not in CI).
;
;   ISCC.exe /DAppVersion=0.1.0 installer\windows\posapp.iss
;
; Installs the one-folder PyInstaller build (dist\posapp) to Program Files, with Start-menu
; entries for the app, the demo mode and `posapp doctor`, and the printer notes for the
; technician. Sales, configuration and logs live in the user's AppData folders, so neither
; an upgrade nor an uninstall ever touches them.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#define AppName "posapp"
#define AppExe "posappw.exe"
#define ConsoleExe "posapp.exe"

[Setup]
; A fixed AppId makes a new version upgrade the old one in place. Never change it.
AppId={{7C0F3E52-5A9B-4D1E-9B64-2F7A8E3C1D90}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=posapp
VersionInfoVersion={#AppVersion}
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=admin
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir=..\..\dist
OutputBaseFilename=posapp-{#AppVersion}-windows-x64-setup
SetupIconFile=..\..\posapp\resources\icons\posapp.ico
UninstallDisplayIcon={app}\{#AppExe}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; Close a running posapp before replacing its files (it holds DLLs open).
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "brazilianportuguese"; MessagesFile: "compiler:Languages\BrazilianPortuguese.isl"
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"
Name: "autostart"; Description: "Abrir o posapp ao entrar no Windows (caixa dedicado)"; GroupDescription: "Caixa:"; Flags: unchecked

[Files]
Source: "..\..\dist\posapp\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
Source: "PRINTERS.md"; DestDir: "{app}\docs"; DestName: "IMPRESSORAS.txt"; Flags: ignoreversion

[InstallDelete]
; Files of an older version that the new one no longer ships would otherwise linger in _internal.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{autoprograms}\{#AppName}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"
Name: "{autoprograms}\{#AppName}\posapp - modo demonstração"; Filename: "{app}\{#AppExe}"; Parameters: "demo"; WorkingDir: "{app}"
Name: "{autoprograms}\{#AppName}\Verificar este caixa (posapp doctor)"; Filename: "{cmd}"; Parameters: "/k """"{app}\{#ConsoleExe}"" doctor"""; WorkingDir: "{app}"; IconFilename: "{app}\{#ConsoleExe}"
Name: "{autoprograms}\{#AppName}\Notas sobre impressoras"; Filename: "{app}\docs\IMPRESSORAS.txt"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"; Tasks: desktopicon
Name: "{userstartup}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"; Tasks: autostart

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
