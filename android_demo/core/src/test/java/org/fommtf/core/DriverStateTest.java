package org.fommtf.core;

import static org.fommtf.core.DriverState.Action.ASK_PERMISSION;
import static org.fommtf.core.DriverState.Action.BIND_CAMERA;
import static org.fommtf.core.DriverState.Action.OPEN_CAMERA;
import static org.fommtf.core.DriverState.Action.PAUSE_INFERENCE;
import static org.fommtf.core.DriverState.Action.RECENTRE;
import static org.fommtf.core.DriverState.Action.RESUME_INFERENCE;
import static org.fommtf.core.DriverState.Action.SAY_CAMERA_FAILED;
import static org.fommtf.core.DriverState.Action.SAY_NO_PERMISSION;
import static org.fommtf.core.DriverState.Action.START_CLIP;
import static org.fommtf.core.DriverState.Action.STOP_CLIP;
import static org.fommtf.core.DriverState.Action.UNBIND_CAMERA;
import static org.junit.Assert.assertEquals;

import java.util.List;
import org.junit.Test;

/** The app's driver lifecycle: what the activity does on each event. */
public class DriverStateTest {
    private static DriverState cameraGranted() {
        DriverState s = new DriverState(DriverState.Driver.CAMERA);
        assertEquals(List.of(RESUME_INFERENCE, ASK_PERMISSION), s.onStart());
        assertEquals(List.of(RECENTRE, OPEN_CAMERA), s.onPermission(true));
        assertEquals(List.of(BIND_CAMERA), s.onProviderReady());
        return s;
    }

    @Test
    public void theCameraIsBoundOnceThePermissionAndTheProviderAreThere() {
        DriverState s = cameraGranted();
        assertEquals(DriverState.Camera.BOUND, s.camera());
        assertEquals(List.of(), s.onProviderReady()); // a second callback binds nothing
    }

    @Test
    public void onStopPausesAndUnbindsOnStartResumesAndBindsAgain() {
        DriverState s = cameraGranted();
        assertEquals(List.of(PAUSE_INFERENCE, UNBIND_CAMERA), s.onStop());
        assertEquals(List.of(), s.onStop());
        assertEquals(List.of(RESUME_INFERENCE, RECENTRE, OPEN_CAMERA), s.onStart());
        assertEquals(List.of(BIND_CAMERA), s.onProviderReady());
    }

    @Test
    public void theClipStopsInOnStopAndRestartsInOnStart() {
        DriverState s = new DriverState(DriverState.Driver.CLIP);
        assertEquals(List.of(RESUME_INFERENCE, RECENTRE, START_CLIP), s.onStart());
        assertEquals(List.of(PAUSE_INFERENCE, STOP_CLIP), s.onStop());
        assertEquals(false, s.clipRunning());
        assertEquals(List.of(RESUME_INFERENCE, RECENTRE, START_CLIP), s.onStart());
    }

    @Test
    public void aStopBeforeTheProviderIsReadyLeavesNothingToBind() {
        DriverState s = new DriverState(DriverState.Driver.CAMERA);
        s.onStart();
        s.onPermission(true); // OPEN_CAMERA: the provider is on its way
        assertEquals(List.of(PAUSE_INFERENCE), s.onStop());
        assertEquals("the late provider binds nothing", List.of(), s.onProviderReady());
        assertEquals(DriverState.Camera.CLOSED, s.camera());
        // the same race with a switch to the clip
        s.onStart();
        assertEquals(List.of(RECENTRE, START_CLIP), s.select(DriverState.Driver.CLIP));
        assertEquals(List.of(), s.onProviderReady());
    }

    @Test
    public void switchingDriversStopsOneAndStartsTheOther() {
        DriverState s = cameraGranted();
        assertEquals(List.of(UNBIND_CAMERA, RECENTRE, START_CLIP), s.select(DriverState.Driver.CLIP));
        assertEquals(List.of(), s.select(DriverState.Driver.CLIP));
        assertEquals(List.of(STOP_CLIP, RECENTRE, OPEN_CAMERA), s.select(DriverState.Driver.CAMERA));
        assertEquals(List.of(BIND_CAMERA), s.onProviderReady());
    }

    @Test
    public void noPermissionOrACameraErrorPlaysTheClipAndSaysSo() {
        DriverState s = new DriverState(DriverState.Driver.CAMERA);
        s.onStart();
        assertEquals(List.of(SAY_NO_PERMISSION, RECENTRE, START_CLIP), s.onPermission(false));
        assertEquals(DriverState.Driver.CLIP, s.driver());
        // picking the camera again asks again; a second refusal plays the clip again
        assertEquals(List.of(STOP_CLIP, ASK_PERMISSION), s.select(DriverState.Driver.CAMERA));
        assertEquals(List.of(SAY_NO_PERMISSION, RECENTRE, START_CLIP), s.onPermission(false));
        DriverState t = cameraGranted();
        assertEquals(List.of(UNBIND_CAMERA, SAY_CAMERA_FAILED, RECENTRE, START_CLIP), t.onCameraError());
    }

    @Test
    public void thePermissionIsAskedOnlyWhileStartedAndOnlyOnce() {
        DriverState s = new DriverState(DriverState.Driver.CAMERA);
        s.onStart();
        s.onStop();
        assertEquals(List.of(RESUME_INFERENCE), s.onStart()); // still asking: no second dialog
        assertEquals(List.of(RECENTRE, OPEN_CAMERA), s.onPermission(true));
        DriverState stopped = new DriverState(DriverState.Driver.CAMERA);
        assertEquals(List.of(), stopped.onPermission(true)); // answered while stopped
        assertEquals(List.of(RESUME_INFERENCE, RECENTRE, OPEN_CAMERA), stopped.onStart());
    }
}
